import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore } from "../../../src/store/open.js";
import type { Store } from "../../../src/store/types.js";
import { ConflictError } from "../../../src/errors.js";

// Real SQLite in a temp dir: fast enough for unit tests and proves the migrations apply.
let dir: string;
let store: Store;
const now = new Date("2026-11-24T00:00:00Z");

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "cf-store-"));
  store = await openStore("file:" + path.join(dir, "nested", "cf.db"));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const host = { name: "h1", address: "10.0.0.1", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:x", remoteRoot: "/opt/clawfleet", shared: true, capacityMb: null, dockerOk: true };
const claim = (customerId: string, plan = "free", extra = {}) =>
  store.hosts.get("h1").then((h) =>
    store.instances.claim({ customerId, hostId: h!.id, plan, image: "img:1", dedicated: plan !== "free", leaseOwner: "t", leaseMs: 60_000, now, ...extra }),
  );

describe("store", () => {
  it("applies migrations once and reopens an existing database", async () => {
    await store.hosts.create(host);
    const again = await openStore("file:" + path.join(dir, "nested", "cf.db"));
    expect((await again.hosts.list()).map((h) => h.name)).toEqual(["h1"]);
    await again.close();
  });

  it("refuses a duplicate host name with a conflict", async () => {
    await store.hosts.create(host);
    await expect(store.hosts.create(host)).rejects.toBeInstanceOf(ConflictError);
  });

  it("allocates distinct slots and reuses a freed one", async () => {
    await store.hosts.create(host);
    const [a, b, c] = await Promise.all([claim("a1"), claim("b1"), claim("c1")]);
    expect(new Set([a.portSlot, b.portSlot, c.portSlot])).toEqual(new Set([0, 1, 2]));
    await store.instances.update("b1", { status: "destroyed", portSlot: null });
    expect((await claim("d1")).portSlot).toBe(b.portSlot);
  });

  it("skips slots known busy on the host", async () => {
    await store.hosts.create(host);
    expect((await claim("a1", "free", { skipSlots: [0, 1] })).portSlot).toBe(2);
  });

  it("refuses a live customer and a customer locked by another provision", async () => {
    await store.hosts.create(host);
    await claim("a1");
    await expect(claim("a1")).rejects.toThrow(/being provisioned/);
    await store.instances.update("a1", { status: "healthy" });
    await expect(claim("a1")).rejects.toThrow(/already has/);
  });

  it("resumes a failed customer and takes over an expired provisioning lease", async () => {
    await store.hosts.create(host);
    const first = await claim("a1");
    await store.instances.update("a1", { status: "failed", statusReason: "boom" });
    const again = await claim("a1");
    expect(again.portSlot).toBe(first.portSlot);
    expect(again.leaseFence).toBe(first.leaseFence + 1);
    const later = new Date(now.getTime() + 120_000);
    expect((await claim("a1", "free", { now: later })).status).toBe("provisioning");
  });

  it("keeps dedicated plans alone on a host", async () => {
    await store.hosts.create(host);
    await claim("a1");
    await expect(claim("p1", "pro")).rejects.toThrow(/dedicated/);
  });
});

describe("several stores on one SQLite file in one process", () => {
  it("closing one leaves the others working", async () => {
    const url = "file:" + path.join(dir, "nested", "cf.db");
    await store.hosts.list();
    for (let i = 0; i < 3; i++) {
      const other = await openStore(url);
      await other.hosts.create({ ...host, name: `h${i}` });
      await other.close();
      expect((await store.hosts.list()).length).toBe(i + 1);
    }
  });
});

