import pLimit from "p-limit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PROBE_TIMEOUT_S } from "../../src/remote/commands/health.js";
import { KILL_AFTER_S } from "../../src/remote/ssh-exec.js";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/types.js";
import { daemon, ownerOf, stop, type Daemon } from "./daemon-proc.js";
import { makeUnhealthy, provisionFree, removeInstances, startedAt, waitFor } from "./health-helpers.js";
import { pgTestDatabase } from "./pg.js";
import { describeSandbox, runSandbox, sandboxHosts, type SandboxHost } from "./sandbox.js";
import { healthzTimes, removeScaleContainers, scaleCustomers, seedScale, startScaleContainers, type ScaleRow } from "./scale-helpers.js";

// Issue 13's scale-out proof: three real daemons share 60 hosts and 301 instances on one PostgreSQL
// database, one is SIGKILLed while it holds host leases, and both the DB and the containers' own
// request logs show every instance checked once per period and no host swept twice at once.
const HOSTS = 60;
const PER_HOST = 5;
const PERIOD = 10_000;
const INDUCED = "scale-induced";
const db = pgTestDatabase("cf_scale");
const env = { CLAWFLEET_DATABASE_URL: db.url };
const periodOf = (t: number) => Math.floor(t / PERIOD) * PERIOD;
const until = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
const logsAtOnce = pLimit(8);
const periodsIn = (from: number, to: number) => Array.from({ length: (to - from) / PERIOD }, (_, i) => from + i * PERIOD);

describeSandbox(`scale-out: three health daemons over ${HOSTS} hosts on PostgreSQL`, () => {
  let store: Store;
  let hosts: SandboxHost[];
  let rows: ScaleRow[];
  const restarts = async () => (await store.events.list({ target: INDUCED })).filter((e) => e.action === "health.restart");

  beforeAll(async () => {
    const up = await runSandbox(["start", String(HOSTS)]);
    expect(up.code, up.stderr).toBe(0);
    hosts = sandboxHosts().slice(0, HOSTS);
    await db.create();
    store = await openStore(db.url);
    removeInstances([INDUCED]);
    rows = await startScaleContainers(scaleCustomers(hosts, PER_HOST));
    await seedScale(store, hosts, rows);
    await provisionFree(env, INDUCED, "sbx-2");
  }, 600_000);

  afterAll(async () => {
    await store?.close();
    removeScaleContainers();
    removeInstances([INDUCED]);
    await db.drop();
    // Hosts 1..3 stay up for the other suites, as global-setup started them.
    await runSandbox(["stop", ...Array.from({ length: HOSTS - 3 }, (_, i) => String(i + 4))]);
  });

  it("every instance is checked in every period, a daemon SIGKILLed mid-sweep loses nothing, the induced failure is restarted once, no host is swept twice at once", async () => {
    const daemons: Daemon[] = [0, 1, 2].map(() => daemon(["--every", "*/10 * * * * *", "--failure-threshold", "2"], env));
    const [victim, ...survivors] = daemons as [Daemon, Daemon, Daemon];
    let from = 0;
    let to = 0;
    let killAt = 0;
    let held = new Set<string>();
    try {
      await waitFor("three daemons started", () => daemons.every(ownerOf), 30_000);
      from = periodOf(Date.now()) + 2 * PERIOD; // the start-up sweeps are behind us by then
      await until(from + PERIOD);

      // SIGKILL the victim while it holds host leases, i.e. in the middle of its share of a sweep.
      const owner = ownerOf(victim)!;
      const holding = () => db.query<{ name: string }>(`SELECT name FROM "Host" WHERE "sweepOwner" = $1`, [owner]).then((r) => r.map((x) => x.name));
      const before = await waitFor("the victim holding host leases", async () => {
        const names = await holding();
        return names.length > 0 ? names : null;
      }, 30_000, 5);
      victim.child.kill("SIGKILL");
      killAt = Date.now();
      expect((await victim.exited).signal).toBe("SIGKILL");
      held = new Set([...before, ...(await holding())]);
      const down = startedAt(INDUCED);
      makeUnhealthy(INDUCED); // cleared by the restart

      await waitFor("the induced failure restarted", async () => (await restarts()).length > 0, 90_000, 500);
      await waitFor("healthy again", async () => (await store.instances.get(INDUCED))?.status === "healthy" && startedAt(INDUCED) !== down, 60_000, 500);
      to = periodOf(Date.now()) + 2 * PERIOD;
      await until(to + 2000); // the last period's sweeps have finished and been recorded
    } finally {
      const exits = await Promise.all(survivors.map(stop));
      if (victim.child.exitCode === null && victim.child.signalCode === null) victim.child.kill("SIGKILL");
      expect(exits, survivors.map((d) => d.out()).join("\n")).toEqual([{ code: 0, signal: null }, { code: 0, signal: null }]);
    }
    const periods = periodsIn(from, to);
    const killPeriod = periodOf(killAt);
    expect(periods.length).toBeGreaterThanOrEqual(5);
    expect(killPeriod).toBeGreaterThan(from);
    expect(held.size).toBeGreaterThan(0);
    const rowOf = new Map(rows.map((r) => [r.customerId, r]));
    // May be swept twice in the kill period: once by the victim before it died, once by its heir.
    const mayRepeat = (customerId: string, p: number) => p === killPeriod && held.has(rowOf.get(customerId)?.host ?? "");
    // On the host side the heir's request comes after the kill, but the victim's may too: a request it
    // sent before dying can reach a starved container late. Its script dies on the hangup (TERM, then
    // KILL after KILL_AFTER_S) and a request already sent is served within PROBE_TIMEOUT_S: the bound.
    const inFlightMs = (KILL_AFTER_S + PROBE_TIMEOUT_S) * 1000;
    const acrossKill = (customerId: string, a: number, b: number) => mayRepeat(customerId, periodOf(a)) && periodOf(b) === periodOf(a) && a < killAt + inFlightMs && b > killAt;

    // 1. The DB: one HealthCheck per instance per period (the induced one: at least one).
    const checks = await db.query<{ customerId: string; at: Date }>(
      `SELECT i."customerId", h.at FROM "HealthCheck" h JOIN "Instance" i ON i.id = h."instanceId" WHERE h.at >= $1 AND h.at < $2`,
      [new Date(from), new Date(to)],
    );
    const count = new Map<string, number>();
    for (const c of checks) {
      const key = `${c.customerId}@${periodOf(c.at.getTime())}`;
      count.set(key, (count.get(key) ?? 0) + 1);
    }
    const wrong: string[] = [];
    for (const id of [...rowOf.keys(), INDUCED]) {
      for (const p of periods) {
        const n = count.get(`${id}@${p}`) ?? 0;
        const max = id === INDUCED ? Infinity : mayRepeat(id, p) ? 2 : 1;
        if (n < 1 || n > max) wrong.push(`${id} in the period at ${new Date(p).toISOString()}: ${n} checks`);
      }
    }
    expect(wrong, "instances not checked exactly once per period").toEqual([]);

    // 2. The hosts: each container served one /healthz per period, and two requests close together
    //    (two sweepers on one host at once) only across the kill: the victim's in flight, the heir's after it.
    const seen = await Promise.all(rows.map((r) => logsAtOnce(async () => ({ r, times: (await healthzTimes(r.customerId)).filter((t) => t >= from && t < to) }))));
    const hostSide: string[] = [];
    for (const { r, times } of seen) {
      for (const p of periods) {
        const inP = times.filter((t) => periodOf(t) === p);
        const ok = inP.length === 1 || (inP.length === 2 && acrossKill(r.customerId, inP[0]!, inP[1]!));
        if (!ok) hostSide.push(`${r.customerId} on ${r.host} in the period at ${new Date(p).toISOString()}: /healthz at ${inP.map((t) => new Date(t).toISOString()).join(", ") || "never"}`);
      }
      for (let i = 1; i < times.length; i++) {
        if (times[i]! - times[i - 1]! < PERIOD / 4 && !acrossKill(r.customerId, times[i - 1]!, times[i]!)) hostSide.push(`${r.customerId}: /healthz ${times[i]! - times[i - 1]!} ms apart`);
      }
    }
    expect(hostSide, `host-side request log (SIGKILL at ${new Date(killAt).toISOString()}; the victim held ${[...held].sort().join(" ")})`).toEqual([]);

    // 3. The induced failure (made after the kill): restarted exactly once; the survivors shared the work.
    const restarted = await restarts();
    expect(restarted.map((e) => e.outcome)).toEqual(["ok"]);
    const sweptBy = new Set((await store.sweeps.states()).map((s) => s.sweptBy));
    expect([...sweptBy].sort()).toEqual(survivors.map((d) => ownerOf(d)!).sort());
  }, 300_000);
});
