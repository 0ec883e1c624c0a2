import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startHeartbeat } from "../../../../../src/app/coordination/leases/heartbeat.js";

/** A clock that moves only with vitest's fake timers, so "now" and the timers agree. */
const fakeClock = { now: () => new Date(Date.now()) };

describe("the lease heartbeat, on a manual clock", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-12-02T12:00:00Z"));
  });
  afterEach(() => vi.useRealTimers());

  it("renews every 10 s to now + 30 s for as long as the work runs, and stops when told", async () => {
    const renewals: string[] = [];
    const stop = startHeartbeat(fakeClock, async (until) => (renewals.push(until.toISOString()), true));
    await vi.advanceTimersByTimeAsync(9_999);
    expect(renewals).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(renewals).toEqual(["2026-12-02T12:00:40.000Z"]);
    // A two-hour operation never sees its lease lapse: the last renewal is always ahead of now.
    await vi.advanceTimersByTimeAsync(2 * 3_600_000);
    expect(renewals).toHaveLength(721);
    expect(Date.parse(renewals.at(-1)!) - Date.now()).toBeGreaterThan(19_000);
    stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(renewals).toHaveLength(721);
  });

  it("keeps beating through a failed renewal (the DB briefly away)", async () => {
    let calls = 0;
    startHeartbeat(fakeClock, async () => {
      calls++;
      if (calls === 2) throw new Error("SQLITE_BUSY");
      return true;
    });
    await vi.advanceTimersByTimeAsync(40_000);
    expect(calls).toBe(4);
  });

  it("stops and reports once when the claim is gone (taken over or unlocked)", async () => {
    let calls = 0;
    const lost = vi.fn();
    startHeartbeat(fakeClock, async () => ++calls < 3, { onLost: lost, ttlMs: 5_000, renewEveryMs: 1_000 });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(3);
    expect(lost).toHaveBeenCalledTimes(1);
  });

  it("a killed holder's claim lapses within the TTL: nothing renews it after the last beat", async () => {
    let until = 0;
    const stop = startHeartbeat(fakeClock, async (u) => ((until = u.getTime()), true));
    await vi.advanceTimersByTimeAsync(25_000);
    stop(); // the process dies here
    expect(until - Date.now()).toBeLessThanOrEqual(30_000);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(Date.now()).toBeGreaterThan(until);
  });
});
