import { describe, expect, it } from "vitest";
import { startHealthDaemon } from "../../../src/daemon/daemon.js";
import { checkCron } from "../../../src/daemon/scheduler.js";
import { healthFixture } from "../app/health/fixture.js";

describe("health daemon", () => {
  it("sweeps at start and on schedule, never two sweeps at once, and stops cleanly", async () => {
    const f = await healthFixture({ h1: ["a1"] });
    const shell = f.shells.get("h1")!;
    const exec = shell.exec.bind(shell);
    let inFlight = 0;
    let peak = 0;
    shell.exec = async (c, o) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, 1500)); // longer than the 1 s schedule
      inFlight--;
      return exec(c, o);
    };
    const sweeps: boolean[] = [];
    let skipped = 0;
    const d = startHealthDaemon(f.deps, { every: "* * * * * *", daily: "0 6 * * *", retentionMs: 86_400_000, alerts: f.sink, onSweep: (r) => sweeps.push(r.ok), onSkip: () => skipped++ });
    await new Promise((r) => setTimeout(r, 3400));
    await d.stop();
    await d.stopped;
    expect(peak).toBe(1);
    expect(skipped).toBeGreaterThan(0);
    expect(sweeps.length).toBeGreaterThanOrEqual(2);
    const count = shell.commands.length;
    await new Promise((r) => setTimeout(r, 1200));
    expect(shell.commands.length).toBe(count);
  });

  it("abandons the host probes of the current sweep on stop", async () => {
    const f = await healthFixture({ h1: ["a1"] });
    const shell = f.shells.get("h1")!;
    shell.exec = (_c, o) => new Promise((_r, reject) => o?.signal?.addEventListener("abort", () => reject(o.signal!.reason)));
    const reports: unknown[] = [];
    const d = startHealthDaemon(f.deps, { every: "0 0 1 1 *", daily: "0 6 * * *", retentionMs: 86_400_000, alerts: f.sink, onSweep: (r) => reports.push(r) });
    await new Promise((r) => setTimeout(r, 100));
    const t = Date.now();
    await d.stop();
    expect(Date.now() - t).toBeLessThan(1000);
    expect(reports).toMatchObject([{ ok: false, instances: [{ status: "unknown", reason: "the sweep was stopped before this host answered" }] }]);
    expect(f.store.checks).toEqual([]);
  });

  it("runs the daily report, then history pruning, then the expiry prune", async () => {
    const f = await healthFixture({ h1: ["a1"] });
    const order: string[] = [];
    const d = startHealthDaemon(f.deps, {
      every: "0 0 1 1 *", daily: "* * * * * *", retentionMs: 86_400_000, alerts: f.sink, sweepAtStart: false,
      onReport: () => order.push("report"),
      expire: async () => void order.push("expire"),
    });
    await new Promise((r) => setTimeout(r, 1500));
    await d.stop();
    expect(order.slice(0, 2)).toEqual(["report", "expire"]);
    expect(f.alerts.some((a) => a.kind === "report")).toBe(true);
  });

  it("rejects a bad cron expression as input", () => {
    expect(() => checkCron("every 5 minutes", "--every")).toThrow(/--every: not a cron expression/);
    expect(checkCron("*/5 * * * *", "--every")).toBe("*/5 * * * *");
  });
});
