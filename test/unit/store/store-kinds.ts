import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { openStore } from "../../../src/store/open.js";
import type { NewHost, Store } from "../../../src/store/types.js";
import { memoryStore } from "../../fakes/memory-store.js";

/** Real SQLite in a temp dir and the in-memory fake, so app tests on the fake see the store's rules. */
export const storeKinds: [string, () => Promise<{ store: Store; done: () => void }>][] = [
  ["sqlite", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "cf-coord-store-"));
    return { store: await openStore("file:" + path.join(dir, "cf.db")), done: () => rmSync(dir, { recursive: true, force: true }) };
  }],
  ["memory", async () => ({ store: memoryStore(), done: () => {} })],
];

export const hostInput = (name: string, extra: Partial<NewHost> = {}): NewHost => ({
  name, address: "10.0.0.1", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:x", remoteRoot: "/opt/clawfleet", shared: true, capacityMb: null, dockerOk: true, ...extra,
});
