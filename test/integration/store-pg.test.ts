import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/types.js";

// Real PostgreSQL, as .ci/run starts it. A fresh database per run proves migrations apply on first use.
const adminUrl = process.env.CLAWFLEET_TEST_PG_URL ?? "postgresql://clawfleet:clawfleet@127.0.0.1:5432/clawfleet";
const dbName = `cf_test_${process.pid}`;
const url = adminUrl.replace(/\/[^/]*$/, "/" + dbName);
let available = true;

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: adminUrl });
  try {
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
    await admin.query(`CREATE DATABASE ${dbName}`);
  } catch (err) {
    available = false;
    const msg = `PostgreSQL is not reachable at ${adminUrl.replace(/:[^:@/]*@/, ":***@")}: ${(err as Error).message}`;
    if (process.env.CI === "true") throw new Error(msg);
    console.warn(`\n!!! SKIPPING PostgreSQL tests: ${msg}\n`);
  } finally {
    await admin.end().catch(() => {});
  }
});

afterAll(async () => {
  if (!available) return;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
});

describe("store on PostgreSQL", () => {
  it("migrates on first use, then allocates distinct slots under concurrency from two processes' worth of clients", async (ctx) => {
    if (!available) return ctx.skip();
    const a: Store = await openStore(url);
    const b: Store = await openStore(url);
    try {
      const host = await a.hosts.create({ name: "pg1", address: "10.0.0.9", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:x", remoteRoot: "/opt/clawfleet", shared: true, capacityMb: null, dockerOk: true });
      const now = new Date();
      const claims = Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? a : b).instances.claim({ customerId: `c${i}x`, hostId: host.id, plan: "free", image: "img:1", dedicated: false, leaseOwner: "t", leaseMs: 60_000, now }),
      );
      const rows = await Promise.all(claims);
      expect(new Set(rows.map((r) => r.portSlot)).size).toBe(8);
      const same = await Promise.allSettled([a, b].map((s) => s.instances.claim({ customerId: "dup", hostId: host.id, plan: "free", image: "img:1", dedicated: false, leaseOwner: "t", leaseMs: 60_000, now })));
      expect(same.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("admits exactly as many concurrent claims as the host has room for, from two stores", async (ctx) => {
    if (!available) return ctx.skip();
    const a: Store = await openStore(url);
    const b: Store = await openStore(url);
    try {
      const host = await a.hosts.create({ name: "pg-cap", address: "10.0.0.11", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:x", remoteRoot: "/opt/clawfleet", shared: true, capacityMb: 3072, memTotalMb: 4096, dockerOk: true });
      const now = new Date();
      // Distinct skipSlots keep the claims off one port slot, whose unique index would serialise them by itself.
      const claims = Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? a : b).instances.claim({ customerId: `cap${i}`, hostId: host.id, plan: "free", image: "img:1", dedicated: false, leaseOwner: "t", leaseMs: 60_000, now, needMb: 1024, capacityMb: 3072, skipSlots: Array.from({ length: i }, (_, k) => k) }),
      );
      const got = await Promise.allSettled(claims);
      expect(got.filter((r) => r.status === "fulfilled")).toHaveLength(3);
      for (const r of got) if (r.status === "rejected") expect(String(r.reason)).toMatch(/host pg-cap has no room for a 1024 MB instance: 0 MB free of 3072 MB/);
      expect((await a.instances.usage()).get(host.id)).toEqual({ usedMb: 3072, count: 3 });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("gives exactly `limit` run slots to concurrent callers from two stores, and drops them with the host", async (ctx) => {
    if (!available) return ctx.skip();
    const a: Store = await openStore(url);
    const b: Store = await openStore(url);
    try {
      const host = await a.hosts.create({ name: "pg-slots", address: "10.0.0.12", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:x", remoteRoot: "/opt/clawfleet", shared: true, capacityMb: null, dockerOk: true });
      const now = new Date();
      const take = (s: Store, owner: string, at: Date) => s.runSlots.tryAcquire({ hostId: host.id, limit: 3, owner, label: "provision", ttlMs: 30_000, now: at });
      const got = await Promise.all(Array.from({ length: 10 }, (_, i) => take(i % 2 ? a : b, `o${i}`, now)));
      expect(got.filter(Boolean).map((g) => g!.slot).sort()).toEqual([0, 1, 2]);
      // Once all have lapsed, racing callers again share them out one each.
      const lapsed = new Date(now.getTime() + 31_000);
      const again = await Promise.all(Array.from({ length: 10 }, (_, i) => take(i % 2 ? a : b, `n${i}`, lapsed)));
      expect(again.filter(Boolean).map((g) => g!.slot).sort()).toEqual([0, 1, 2]);
      expect((await a.runSlots.holders(host.id, lapsed)).map((h) => h.owner).every((o) => o.startsWith("n"))).toBe(true);
      await a.hosts.remove("pg-slots");
      expect(await b.runSlots.holders(host.id, lapsed)).toEqual([]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("splits racing host sweep claims from two stores so that every host goes to exactly one daemon", async (ctx) => {
    if (!available) return ctx.skip();
    const a: Store = await openStore(url);
    const b: Store = await openStore(url);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) ids.push((await a.hosts.create({ name: `pg-sweep-${i}`, address: "10.0.0.13", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:x", remoteRoot: "/opt/clawfleet", shared: true, capacityMb: null, dockerOk: true })).id);
      const now = new Date();
      const until = new Date(now.getTime() + 30_000);
      // Twelve claims, each over overlapping batches in different orders.
      const batches = Array.from({ length: 12 }, (_, k) => (k % 2 ? [...ids].reverse() : ids).slice((k * 5) % 20, (k * 5) % 20 + 20));
      const won = await Promise.all(batches.map((batch, k) => (k % 2 ? a : b).sweeps.claim({ owner: `d${k}`, hostIds: batch, dueBefore: new Date(now.getTime() - 1000), now, until })));
      const all = won.flat();
      expect(new Set(all).size).toBe(all.length);
      const states = await a.sweeps.states(ids);
      for (const [k, w] of won.entries()) for (const id of w) expect(states.find((s) => s.hostId === id)!.owner).toBe(`d${k}`);
      for (let d = 0; d < 12; d++) await b.sweeps.finish(`d${d}`, ids, now);
      expect((await a.sweeps.claim({ owner: "late", hostIds: ids, dueBefore: new Date(now.getTime() - 1000), now, until })).length).toBe(ids.length - all.length);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("lets one of many concurrent requests with the same idempotency key run", async (ctx) => {
    if (!available) return ctx.skip();
    const a: Store = await openStore(url);
    const b: Store = await openStore(url);
    try {
      const now = new Date();
      const begins = await Promise.all(Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? a : b).idempotency.begin({ key: "idem-1", operation: "provision", requestHash: "h", customerId: "acme", owner: `o${i}`, ttlMs: 30_000, now })));
      const winners = begins.filter((r) => r.inserted);
      expect(winners).toHaveLength(1);
      expect(new Set(begins.map((r) => r.record.owner))).toEqual(new Set([winners[0]!.record.owner]));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("round-trips a backup past 2^31 bytes and finds it as the customer's latest", async (ctx) => {
    if (!available) return ctx.skip();
    const s: Store = await openStore(url);
    try {
      const host = await s.hosts.create({ name: "pg2", address: "10.0.0.10", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:x", remoteRoot: "/opt/clawfleet", shared: true, capacityMb: null, dockerOk: true });
      const inst = await s.instances.claim({ customerId: "bk1", hostId: host.id, plan: "free", image: "img:1", dedicated: false, leaseOwner: "t", leaseMs: 60_000, now: new Date() });
      const b = await s.backups.create({ instanceId: inst.id, customerId: "bk1", hostName: "pg2", plan: "free", trigger: "manual", retention: "plan", path: "/b/bk1.tar.zst", encrypted: false, recipient: null, at: new Date() });
      expect(b.status).toBe("running");
      expect(await s.backups.update(b.id, { status: "ok", finishedAt: new Date(), bytes: 3_000_000_000 })).toMatchObject({ status: "ok", bytes: 3_000_000_000 });
      const latest = (await s.backups.latest(["bk1"])).get("bk1");
      expect(latest?.lastOk).toMatchObject({ id: b.id, bytes: 3_000_000_000 });
      expect(latest?.lastAttempt?.id).toBe(b.id);
    } finally {
      await s.close();
    }
  });
});
