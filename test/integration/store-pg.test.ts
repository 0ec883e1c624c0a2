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
