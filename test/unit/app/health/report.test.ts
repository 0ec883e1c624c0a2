import { describe, expect, it } from "vitest";
import { healthHistory, pruneHealthHistory } from "../../../../src/app/health/history.js";
import { healthReport, reportLine } from "../../../../src/app/health/report.js";
import { healthSweep } from "../../../../src/app/health/sweep.js";
import { healthFixture } from "./fixture.js";

const DAY = 86_400_000;

describe("health report, history and pruning", () => {
  it("summarises the fleet, records it as an Event and sends it as a report alert", async () => {
    const f = await healthFixture({ h1: ["a1", "a2", "a3"], h2: ["b1"] });
    f.containers.set("a2", { http: 500 });
    f.down.add("h2");
    for (let i = 0; i < 3; i++) await healthSweep(f.deps, { policy: { failureThreshold: 2 } });
    await f.store.instances.update("a3", { status: "stopped" });
    const r = await healthReport(f.deps, { alerts: f.sink });
    expect(r.instances).toMatchObject({ total: 4, healthy: 2, unhealthy: 1, quarantined: 0, stopped: 1 });
    expect(r.restarts).toBe(1);
    expect(r.hostsDown.map((h) => h.name)).toEqual(["h2"]);
    expect(f.alerts.at(-1)).toMatchObject({ kind: "report", customerId: null, host: null, reason: reportLine(r) });
    expect(f.store.eventsLog.slice(-2).map((e) => [e.action, e.target])).toEqual([["health.report", "fleet"], ["health.alert.report", "fleet"]]);
    expect(reportLine(r)).toBe("4 instances: 2 healthy, 1 unhealthy, 0 quarantined, 1 stopped; 1 restart(s), 0 quarantine(s) in the last 1d; hosts down: h2; backups overdue: 0");
  });

  it("keeps history per instance, newest first, and prunes what is older than the retention", async () => {
    const f = await healthFixture({ h1: ["a1"] });
    await healthSweep(f.deps, {});
    f.clock.advance(31 * DAY);
    f.containers.set("a1", { http: 503 });
    await healthSweep(f.deps, {});
    const h = await healthHistory(f.deps, "a1");
    expect(h.checks.map((c) => [c.status, c.detail])).toEqual([["unhealthy", "/healthz returned 503 (docker health: healthy)"], ["healthy", null]]);
    expect(h).toMatchObject({ customerId: "a1", host: "h1", status: "unhealthy", consecutiveFailures: 1 });
    expect(await pruneHealthHistory(f.deps, 30 * DAY)).toBe(1);
    expect((await healthHistory(f.deps, "a1")).checks).toHaveLength(1);
    expect(f.store.eventsLog.at(-1)).toMatchObject({ action: "health.prune", outcome: "ok" });
    await expect(healthHistory(f.deps, "nope")).rejects.toThrow(/no instance/);
  });
});
