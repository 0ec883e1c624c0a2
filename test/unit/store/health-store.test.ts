import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore } from "../../../src/store/open.js";
import type { Store } from "../../../src/store/types.js";

// Real SQLite: the leases' compare-and-set and fencing are SQL, so they are tested as SQL.
let dir: string;
let store: Store;
const now = new Date("2026-11-24T00:00:00Z");
const later = (ms: number) => new Date(now.getTime() + ms);
const SWEPT = ["healthy", "unhealthy", "quarantined"] as const;

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "cf-health-store-"));
  store = await openStore("file:" + path.join(dir, "cf.db"));
  const h = await store.hosts.create({ name: "h1", address: "10.0.0.1", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:x", remoteRoot: "/opt/clawfleet", shared: true, capacityMb: null, dockerOk: true });
  await store.instances.claim({ customerId: "a1", hostId: h.id, plan: "free", image: "img:1", dedicated: false, leaseOwner: "prov", leaseMs: 1000, now });
  await store.instances.update("a1", { status: "healthy", leaseOwner: null, leaseUntil: null });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const acquire = (owner: string, at = now, ttlMs = 60_000) => store.leases.acquire({ customerId: "a1", owner, ttlMs, now: at, statuses: [...SWEPT] });

describe("leases", () => {
  it("gives a free lease to exactly one of many concurrent callers", async () => {
    const got = await Promise.all(["d1", "d2", "d3", "d4"].map((o) => acquire(o)));
    expect(got.filter(Boolean)).toHaveLength(1);
  });

  it("lets another owner take over only after expiry, with a higher fence that locks the old holder out", async () => {
    const first = (await acquire("d1"))!;
    expect(await acquire("d2", later(30_000))).toBeNull();
    const second = (await acquire("d2", later(61_000)))!;
    expect(second.fence).toBe(first.fence + 1);
    expect(await store.leases.write(first, { consecutiveFailures: 9 })).toBe(false);
    expect(await store.leases.release(first)).toBe(false);
    expect(await store.leases.write(second, { consecutiveFailures: 1 })).toBe(true);
    expect((await store.instances.get("a1"))!.consecutiveFailures).toBe(1);
    expect(await store.leases.release(second, { restartCount: 1 })).toBe(true);
    expect(await store.instances.get("a1")).toMatchObject({ leaseOwner: null, leaseUntil: null, restartCount: 1 });
  });

  it("refuses instances the policy does not own (stopped, provisioning)", async () => {
    await store.instances.update("a1", { status: "stopped" });
    expect(await acquire("d1")).toBeNull();
  });
});

describe("transitions", () => {
  const expectOf = async () => {
    const r = (await store.instances.get("a1"))!;
    return { status: r.status, consecutiveFailures: r.consecutiveFailures, restartCount: r.restartCount, lastRestartAt: r.lastRestartAt, quarantinedAt: r.quarantinedAt };
  };

  it("apply only while the row still holds what was read, dates included, and no lease is live", async () => {
    await store.instances.update("a1", { lastRestartAt: later(1234), restartCount: 1 });
    const seen = await expectOf();
    const step = (n: number) => ({ customerId: "a1", expect: { ...seen, consecutiveFailures: n - 1 }, patch: { status: "unhealthy" as const, consecutiveFailures: n } });
    expect(await store.leases.transition([step(1)], now)).toEqual([true]);
    // A second process that read the same row loses: the row moved on.
    expect(await store.leases.transition([step(1)], now)).toEqual([false]);
    await acquire("d1");
    expect(await store.leases.transition([{ ...step(2), expect: { ...seen, status: "unhealthy", consecutiveFailures: 1 } }], now)).toEqual([false]);
    expect(await store.leases.transition([{ ...step(2), expect: { ...seen, status: "unhealthy", consecutiveFailures: 1 } }], later(61_000))).toEqual([true]);
    expect((await store.instances.get("a1"))!.consecutiveFailures).toBe(2);
  });

  it("batch many rows into one transaction, each with its own outcome", async () => {
    const seen = await expectOf();
    const res = await store.leases.transition([
      { customerId: "a1", expect: seen, patch: { consecutiveFailures: 1 } },
      { customerId: "nope", expect: seen, patch: { consecutiveFailures: 1 } },
    ], now);
    expect(res).toEqual([true, false]);
  });
});

describe("health history and hosts", () => {
  it("records, lists newest first, and prunes by age", async () => {
    const id = (await store.instances.get("a1"))!.id;
    await store.healthChecks.record([0, 1, 2].map((i) => ({ instanceId: id, at: later(i * 1000), ok: i !== 1, status: i === 1 ? "unhealthy" : "healthy", latencyMs: 3, detail: i === 1 ? "boom" : null })));
    expect((await store.healthChecks.history(id)).map((c) => c.status)).toEqual(["healthy", "unhealthy", "healthy"]);
    expect(await store.healthChecks.history(id, { limit: 1 })).toHaveLength(1);
    expect(await store.healthChecks.prune(later(1500))).toBe(2);
    expect(await store.healthChecks.history(id)).toHaveLength(1);
  });

  it("marks a host down once per outage and up once", async () => {
    const h = (await store.hosts.get("h1"))!;
    const downs = await Promise.all([1, 2, 3].map(() => store.healthChecks.markHostDown(h.id, now, "refused")));
    expect(downs.filter(Boolean)).toHaveLength(1);
    expect(await store.hosts.get("h1")).toMatchObject({ downSince: now, downReason: "refused" });
    expect(await store.healthChecks.markHostUp(h.id)).toEqual(now);
    expect(await store.healthChecks.markHostUp(h.id)).toBeNull();
  });

  it("touches lastHealthAt only on instances still healthy with clean counters", async () => {
    const row = (await store.instances.get("a1"))!;
    await store.healthChecks.touchHealthy([row.id], now);
    expect((await store.instances.get("a1"))!.lastHealthAt).toEqual(now);
    await store.instances.update("a1", { status: "unhealthy" });
    await store.healthChecks.touchHealthy([row.id], later(1000));
    expect((await store.instances.get("a1"))!.lastHealthAt).toEqual(now);
  });
});
