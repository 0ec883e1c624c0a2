import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/store/open.js";

// Real processes on one SQLite file, as concurrent CLI runs are: lock conflicts must be retried, never surface.
const dist = path.resolve("dist/store/open.js");
const child = `
const { openStore } = await import(process.argv[1]);
const [url, prefix] = process.argv.slice(2);
const s = await openStore(url);
const h = await s.hosts.get("h1");
const rows = await Promise.all([0, 1, 2].map((i) => s.instances.claim({ customerId: prefix + "x" + i, hostId: h.id, plan: "free", image: "i:1", dedicated: false, leaseOwner: "t", leaseMs: 60000, now: new Date() })));
console.log(rows.map((r) => r.portSlot).join(","));
await s.close();`;

describe("SQLite with several processes", () => {
  it("six processes claiming at once get eighteen distinct slots and no error", async () => {
    const url = "file:" + path.join(mkdtempSync(path.join(os.tmpdir(), "cf-procs-")), "cf.db");
    const s = await openStore(url);
    await s.hosts.create({ name: "h1", address: "x", port: 22, user: "u", identityFile: null, hostKey: "k", remoteRoot: "/r", shared: true, capacityMb: null, dockerOk: true });
    await s.close();
    const runs = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
          const c = spawn(process.execPath, ["--input-type=module", "-e", child, dist, url, `p${i}`]);
          let out = "";
          let err = "";
          c.stdout.on("data", (d) => (out += d));
          c.stderr.on("data", (d) => (err += d));
          c.on("close", (code) => resolve({ code, out: out.trim(), err }));
        }),
      ),
    );
    for (const r of runs) expect(r.code, r.err).toBe(0);
    const slots = runs.flatMap((r) => r.out.split(","));
    expect(new Set(slots).size).toBe(18);
  });
});
