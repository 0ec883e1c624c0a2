import { createHash } from "node:crypto";
import type { BackupPolicy } from "./plans.js";

const DAY_MS = 86_400_000;

/** A backup is overdue once its last good one is older than the schedule's period plus this. */
export const OVERDUE_GRACE_MS = 3_600_000;
/** After a failed scheduled backup, the next try waits at least this long. */
export const RETRY_AFTER_MS = 30 * 60_000;

export function periodMs(schedule: BackupPolicy["schedule"]): number | null {
  return schedule === "daily" ? DAY_MS : schedule === "weekly" ? 7 * DAY_MS : null;
}

/**
 * Each instance's fixed offset in the period, from its id: the fleet's backups spread evenly over
 * the day (or week) instead of all starting at the first sweep after midnight.
 */
export function phaseMs(customerId: string, period: number): number {
  return createHash("sha256").update(customerId).digest().readUInt32BE(0) % period;
}

/** The start of the instance's current backup slot: the latest `k × period + phase` not after now. */
export function slotStart(customerId: string, period: number, now: Date): Date {
  const phase = phaseMs(customerId, period);
  return new Date(Math.floor((now.getTime() - phase) / period) * period + phase);
}

export interface BackupHistory {
  lastOkAt: Date | null;
  /** The newest finished attempt, ok or failed. */
  lastAttemptAt: Date | null;
  lastAttemptOk: boolean | null;
}

/** Whether the daemon should back the instance up now. */
export function isDue(customerId: string, policy: BackupPolicy, h: BackupHistory, now: Date, retryAfterMs = RETRY_AFTER_MS): boolean {
  const period = periodMs(policy.schedule);
  if (period === null) return false;
  const slot = slotStart(customerId, period, now);
  if (h.lastOkAt && h.lastOkAt >= slot) return false;
  if (h.lastAttemptOk === false && h.lastAttemptAt && now.getTime() - h.lastAttemptAt.getTime() < retryAfterMs) return false;
  return true;
}

/** True when a scheduled instance has had no good backup for a period plus the grace (counting from its creation). */
export function isOverdue(policy: BackupPolicy, lastOkAt: Date | null, createdAt: Date, now: Date): boolean {
  const period = periodMs(policy.schedule);
  if (period === null) return false;
  const since = lastOkAt ?? createdAt;
  return now.getTime() - since.getTime() > period + OVERDUE_GRACE_MS;
}

/**
 * Which of one instance's good backups retention removes: all "plan" backups beyond the newest
 * `keep`. Pinned backups are never counted or removed. Input in any order.
 */
export function toPrune<T extends { at: Date; retention: string }>(backups: T[], keep: number): T[] {
  const counted = backups.filter((b) => b.retention === "plan").sort((a, b) => b.at.getTime() - a.at.getTime());
  return counted.slice(Math.max(0, keep));
}
