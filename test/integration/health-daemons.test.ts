import { afterAll, beforeAll, expect, it } from "vitest";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/types.js";
import { daemon as spawnDaemon, stop } from "./daemon-proc.js";
import { addHosts, makeUnhealthy, provisionFree, removeInstances, startedAt, waitFor } from "./health-helpers.js";
import { pgTestDatabase } from "./pg.js";
import { describeSandbox } from "./sandbox.js";

// Several daemons on one PostgreSQL database, as DESIGN.md's "several daemons at once".
const db = pgTestDatabase("cf_health");
const url = db.url;
// One instance for both tests: its recovery after the first resets the policy's counters.
const PAIR = "hl-daemons";
const CRASH = PAIR;
const env = { CLAWFLEET_DATABASE_URL: url };

const daemon = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => spawnDaemon(["--every", "* * * * * *", "--failure-threshold", "2", ...args], { ...env, ...extraEnv });

describeSandbox("health daemons sharing one PostgreSQL database", () => {
  let store: Store;
  const restarts = async (customerId: string) => (await store.events.list({ target: customerId })).filter((e) => e.action === "health.restart");

  beforeAll(async () => {
    await db.create();
    removeInstances([PAIR]);
    await addHosts(env);
    await provisionFree(env, PAIR, "sbx-2");
    store = await openStore(url);
  });
  afterAll(async () => {
    await store?.close();
    removeInstances([PAIR]);
    await db.drop();
  });

  it("two daemons in parallel against one failing instance restart it once, then stop cleanly on SIGTERM", async () => {
    const a = daemon([]);
    const b = daemon([]);
    try {
      await waitFor("both daemons sweeping", () => /sweep/.test(a.out()) && /sweep/.test(b.out()), 30_000);
      const before = startedAt(PAIR);
      makeUnhealthy(PAIR); // cleared by the restart
      await waitFor("one restart", async () => (await restarts(PAIR)).length > 0, 60_000);
      await waitFor("healthy again", async () => (await store.instances.get(PAIR))?.status === "healthy" && startedAt(PAIR) !== before, 60_000);
      await new Promise((r) => setTimeout(r, 3000)); // more sweeps by both, on the healthy instance
      expect((await restarts(PAIR)).map((e) => e.outcome)).toEqual(["ok"]);
      expect((await store.instances.get(PAIR))!.leaseOwner).toBeNull();
    } finally {
      const [ea, eb] = await Promise.all([stop(a), stop(b)]);
      expect([ea, eb], a.out() + b.out()).toEqual([{ code: 0, signal: null }, { code: 0, signal: null }]);
    }
    expect(a.out()).toMatch(/SIGTERM: finishing the current sweep/);
    expect(a.out()).toMatch(/health daemon stopped/);
  });

  it("a daemon killed right after it takes a lease: the lease expires and another daemon restarts exactly once", async () => {
    expect(await store.instances.get(CRASH)).toMatchObject({ status: "healthy", restartCount: 0, consecutiveFailures: 0 });
    await store.instances.update(CRASH, { status: "unhealthy", consecutiveFailures: 1, statusReason: "test: one failure already" });
    makeUnhealthy(CRASH);
    const before = startedAt(CRASH);
    const prior = (await restarts(CRASH)).length;
    const newRestarts = async () => (await restarts(CRASH)).slice(0, -prior || undefined); // newest first
    const doomed = daemon(["--lease-ttl", "10s"], { CLAWFLEET_FAULT_AFTER_LEASE: "kill" });
    const dead = await doomed.exited;
    expect(dead.signal, doomed.out()).toBe("SIGKILL");
    const held = (await store.instances.get(CRASH))!;
    expect(held.leaseOwner).toMatch(new RegExp(`:${doomed.child.pid}:`));
    expect(held.leaseUntil!.getTime()).toBeGreaterThan(Date.now());
    expect(startedAt(CRASH)).toBe(before);

    const heir = daemon(["--lease-ttl", "10s"]);
    try {
      await waitFor("the restart after the lease expired", async () => (await newRestarts()).length > 0, 60_000);
      const restartAt = (await newRestarts())[0]!.at;
      expect(restartAt.getTime()).toBeGreaterThanOrEqual(held.leaseUntil!.getTime());
      await waitFor("healthy again", async () => (await store.instances.get(CRASH))?.status === "healthy", 60_000);
      await new Promise((r) => setTimeout(r, 2000));
      expect(await newRestarts()).toHaveLength(1);
      expect(startedAt(CRASH)).not.toBe(before);
      expect((await store.instances.get(CRASH))!.leaseFence).toBeGreaterThan(held.leaseFence);
    } finally {
      expect((await stop(heir)).code, heir.out()).toBe(0);
    }
  });
});
