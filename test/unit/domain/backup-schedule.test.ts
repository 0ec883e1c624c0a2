import { describe, expect, it } from "vitest";
import { isDue, isOverdue, periodMs, phaseMs, RETRY_AFTER_MS, slotStart, toPrune } from "../../../src/domain/backup-schedule.js";

const DAY = 86_400_000;
const daily = { schedule: "daily" as const, keep: 3 };
const none = { lastOkAt: null, lastAttemptAt: null, lastAttemptOk: null };

describe("backup schedule", () => {
  it("spreads instances over the day by a stable phase", () => {
    const phases = Array.from({ length: 200 }, (_, i) => phaseMs(`cust-${i}`, DAY));
    expect(phaseMs("acme", DAY)).toBe(phaseMs("acme", DAY));
    expect(Math.min(...phases)).toBeLessThan(DAY / 10);
    expect(Math.max(...phases)).toBeGreaterThan(DAY * 0.9);
    expect(new Set(phases.map((p) => Math.floor(p / (DAY / 24)))).size).toBeGreaterThan(20);
  });

  it("a slot starts at the phase, once per period", () => {
    const now = new Date("2026-12-02T12:00:00Z");
    const s = slotStart("acme", DAY, now);
    expect(s.getTime()).toBeLessThanOrEqual(now.getTime());
    expect(now.getTime() - s.getTime()).toBeLessThan(DAY);
    expect((s.getTime() - phaseMs("acme", DAY)) % DAY).toBe(0);
    expect(periodMs("weekly")).toBe(7 * DAY);
    expect(periodMs("none")).toBeNull();
  });

  it("is due once per slot; a failure waits before the next try", () => {
    const now = new Date("2026-12-02T12:00:00Z");
    const slot = slotStart("acme", DAY, now);
    expect(isDue("acme", daily, none, now)).toBe(true);
    expect(isDue("acme", { schedule: "none", keep: 3 }, none, now)).toBe(false);
    expect(isDue("acme", daily, { lastOkAt: new Date(slot.getTime() + 1), lastAttemptAt: new Date(slot.getTime() + 1), lastAttemptOk: true }, now)).toBe(false);
    expect(isDue("acme", daily, { lastOkAt: new Date(slot.getTime() - 1), lastAttemptAt: new Date(slot.getTime() - 1), lastAttemptOk: true }, now)).toBe(true);
    const failedJustNow = { lastOkAt: null, lastAttemptAt: new Date(now.getTime() - 60_000), lastAttemptOk: false };
    expect(isDue("acme", daily, failedJustNow, now)).toBe(false);
    expect(isDue("acme", daily, failedJustNow, new Date(now.getTime() + RETRY_AFTER_MS))).toBe(true);
    expect(isDue("acme", daily, failedJustNow, now, 1000)).toBe(true);
  });

  it("is overdue a period plus an hour after the last good backup, or after creation without one", () => {
    const now = new Date("2026-12-02T12:00:00Z");
    const ago = (ms: number) => new Date(now.getTime() - ms);
    expect(isOverdue(daily, ago(DAY), ago(10 * DAY), now)).toBe(false);
    expect(isOverdue(daily, ago(DAY + 3_600_001), ago(10 * DAY), now)).toBe(true);
    expect(isOverdue(daily, null, ago(DAY), now)).toBe(false);
    expect(isOverdue(daily, null, ago(2 * DAY), now)).toBe(true);
    expect(isOverdue({ schedule: "none", keep: 1 }, null, ago(99 * DAY), now)).toBe(false);
  });

  it("prunes plan backups beyond keep, newest kept, pinned ones never", () => {
    const b = (h: number, retention = "plan") => ({ id: `b${h}`, at: new Date(Date.UTC(2026, 11, 1, h)), retention });
    const list = [b(1), b(5), b(3, "pinned"), b(4), b(2)];
    expect(toPrune(list, 2).map((x) => x.id)).toEqual(["b2", "b1"]);
    expect(toPrune(list, 10)).toEqual([]);
  });
});
