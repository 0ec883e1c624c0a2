import { describe, expect, it } from "vitest";
import { healthSweep } from "../../../../src/app/health/sweep.js";
import type { SweepOptions } from "../../../../src/app/health/types.js";
import { healthFixture } from "./fixture.js";

const MIN = 60_000;
const policy = { failureThreshold: 3, maxRestarts: 2, backoffInitialMs: MIN, backoffMaxMs: 30 * MIN, restartWindowMs: 60 * MIN };

describe("healthSweep", () => {
  it("sends one batched command per host and reports every instance healthy", async () => {
    const f = await healthFixture({ h1: ["a1", "a2"], h2: ["b1"], h3: [] });
    const r = await healthSweep(f.deps, { alerts: f.sink });
    expect(r.ok).toBe(true);
    expect(r.summary).toMatchObject({ instances: 3, healthy: 3, unhealthy: 0, unknown: 0, hostsDown: 0 });
    expect([...f.shells.values()].map((s) => s.commands.length)).toEqual([1, 1, 1]);
    expect(f.shells.get("h1")!.commands[0]!.command).toMatch(/docker inspect .* 'cf-a1' 'cf-a2'/);
    expect(f.store.checks).toHaveLength(3);
    expect(f.store.rows.get("a1")!.lastHealthAt).toEqual(f.clock.now());
  });

  it("restarts a failing instance after exactly failureThreshold sweeps, once, then it recovers", async () => {
    const f = await healthFixture({ h1: ["a1", "a2"] });
    f.containers.set("a1", { http: 500 });
    const actions: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await healthSweep(f.deps, { alerts: f.sink, policy });
      actions.push(r.instances.find((x) => x.customerId === "a1")!.action);
      f.clock.advance(30_000);
    }
    expect(actions).toEqual(["none", "none", "restarted"]);
    expect(f.restarts).toEqual(["a1"]);
    f.containers.set("a1", {});
    const r = await healthSweep(f.deps, { alerts: f.sink, policy });
    expect(r.instances.find((x) => x.customerId === "a1")).toMatchObject({ action: "recovered", instanceStatus: "healthy" });
    expect(f.store.eventsLog.map((e) => e.action)).toEqual(["health.unhealthy", "health.restart", "health.recovered"]);
    expect(f.alerts).toEqual([]);
    expect(f.store.rows.get("a1")!.leaseOwner).toBeNull();
  });

  it("quarantines an instance that keeps failing, with exactly one alert", async () => {
    const f = await healthFixture({ h1: ["a1"] });
    f.containers.set("a1", { http: 500 });
    for (let i = 0; i < 40; i++) {
      await healthSweep(f.deps, { alerts: f.sink, policy });
      f.clock.advance(30_000);
    }
    expect(f.restarts).toEqual(["a1", "a1"]);
    expect(f.store.rows.get("a1")!.status).toBe("quarantined");
    expect(f.alerts).toHaveLength(1);
    expect(f.alerts[0]).toMatchObject({ kind: "quarantine", customerId: "a1", host: "h1", attempts: 2 });
    expect(Object.keys(f.alerts[0]!).sort()).toEqual(["at", "attempts", "customerId", "host", "kind", "reason"]);
    f.containers.set("a1", {});
    await healthSweep(f.deps, { alerts: f.sink, policy });
    expect(f.alerts.map((a) => a.kind)).toEqual(["quarantine", "recovered"]);
  });

  it("a container that is gone counts as a failure and is brought back", async () => {
    const f = await healthFixture({ h1: ["a1"] });
    f.containers.set("a1", { state: "missing" });
    for (let i = 0; i < 3; i++) await healthSweep(f.deps, { policy });
    expect(f.restarts).toEqual(["a1"]);
    expect(f.shells.get("h1")!.commands.at(-1)!.command).toContain("cfc up -d --remove-orphans");
  });

  it("an unreachable host restarts nothing and raises one alert per outage, then one when it is back", async () => {
    const f = await healthFixture({ h1: ["a1"], h2: ["b1"] });
    f.down.add("h2");
    for (let i = 0; i < 5; i++) {
      const r = await healthSweep(f.deps, { alerts: f.sink, policy: { ...policy, failureThreshold: 1 } });
      expect(r.ok).toBe(false);
      expect(r.instances.find((x) => x.customerId === "b1")).toMatchObject({ status: "unknown", action: "none" });
      f.clock.advance(MIN);
    }
    expect(f.restarts).toEqual([]);
    expect(f.alerts.map((a) => [a.kind, a.host])).toEqual([["host-down", "h2"]]);
    expect(f.store.checks.filter((c) => c.status === "unknown")).toHaveLength(5);
    f.down.delete("h2");
    expect((await healthSweep(f.deps, { alerts: f.sink })).ok).toBe(true);
    expect(f.alerts.map((a) => a.kind)).toEqual(["host-down", "host-back"]);
    expect(f.alerts[1]!.reason).toMatch(/reachable again after 5m/);
  });

  it("replaces a pooled connection that died between sweeps instead of calling the host down", async () => {
    const f = await healthFixture({ h1: ["a1"] });
    f.breakNextExec.add("h1");
    const r = await healthSweep(f.deps, { alerts: f.sink });
    expect(r.ok).toBe(true);
    expect(f.forgotten).toEqual(["h1"]);
    expect(f.alerts).toEqual([]);
  });

  it("does not act on an instance whose lease another process holds", async () => {
    const f = await healthFixture({ h1: ["a1"] });
    f.containers.set("a1", { http: 500 });
    await f.store.instances.update("a1", { consecutiveFailures: 2, status: "unhealthy", leaseOwner: "other", leaseUntil: new Date(f.clock.now().getTime() + MIN) });
    const r = await healthSweep(f.deps, { policy });
    expect(r.instances[0]).toMatchObject({ action: "locked" });
    expect(f.restarts).toEqual([]);
    f.clock.advance(2 * MIN); // the other process died: its lease expires and we take over
    const again = await healthSweep(f.deps, { policy });
    expect(again.instances[0]).toMatchObject({ action: "restarted" });
    expect(f.store.rows.get("a1")!.leaseFence).toBeGreaterThan(1);
  });

  it("ignores an observation made before another process's restart", async () => {
    const f = await healthFixture({ h1: ["a1"] });
    f.containers.set("a1", { http: 500 });
    await f.store.instances.update("a1", { consecutiveFailures: 2, status: "unhealthy" });
    // Another daemon restarts the instance while our sweep's answer is on its way.
    const opts: SweepOptions = { policy };
    const shell = f.shells.get("h1")!;
    const exec = shell.exec.bind(shell);
    shell.exec = async (c, o) => {
      const res = await exec(c, o);
      await f.store.instances.update("a1", { lastRestartAt: new Date(f.clock.now().getTime() + 1), restartCount: 1, consecutiveFailures: 0 });
      return res;
    };
    const r = await healthSweep(f.deps, opts);
    expect(r.instances[0]).toMatchObject({ action: "stale" });
    expect(f.restarts).toEqual([]);
  });

  it("leaves stopped, provisioning and failed instances alone", async () => {
    const f = await healthFixture({ h1: ["a1", "a2", "a3", "a4"] });
    await f.store.instances.update("a2", { status: "stopped" });
    await f.store.instances.update("a3", { status: "provisioning" });
    await f.store.instances.update("a4", { status: "failed" });
    const r = await healthSweep(f.deps, {});
    expect(r.instances.map((i) => i.customerId)).toEqual(["a1"]);
    expect(f.shells.get("h1")!.commands[0]!.command).not.toMatch(/cf-a2|cf-a3|cf-a4/);
    const one = await healthSweep(f.deps, { customerId: "a2" });
    expect(one.instances[0]).toMatchObject({ status: "unknown", reason: "the instance is stopped; sweeps leave it alone" });
    expect(one.hosts).toEqual([]);
  });

  it("with --customer-id contacts only that instance's host", async () => {
    const f = await healthFixture({ h1: ["a1"], h2: ["b1"] });
    const r = await healthSweep(f.deps, { customerId: "b1" });
    expect(r.hosts.map((h) => h.name)).toEqual(["h2"]);
    expect(f.shells.get("h1")!.commands).toHaveLength(0);
    await expect(healthSweep(f.deps, { customerId: "nope" })).rejects.toThrow(/no instance/);
  });

  it("observe-only records nothing and restarts nothing", async () => {
    const f = await healthFixture({ h1: ["a1"] });
    f.containers.set("a1", { http: 500 });
    for (let i = 0; i < 4; i++) await healthSweep(f.deps, { act: false, policy: { ...policy, failureThreshold: 1 } });
    expect(f.restarts).toEqual([]);
    expect(f.store.checks).toEqual([]);
    expect(f.store.rows.get("a1")!.consecutiveFailures).toBe(0);
  });

  it("sweeps hosts in parallel up to the bound", async () => {
    const layout = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`h${i}`, [`c${i}`]]));
    const f = await healthFixture(layout);
    let inFlight = 0;
    let peak = 0;
    for (const shell of f.shells.values()) {
      const exec = shell.exec.bind(shell);
      shell.exec = async (c, o) => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((r) => setTimeout(r, 20));
        inFlight--;
        return exec(c, o);
      };
    }
    await healthSweep(f.deps, { concurrency: 2 });
    expect(peak).toBe(2);
    await healthSweep(f.deps, {});
    expect(peak).toBe(6);
  });
});
