import pLimit from "p-limit";
import { isDue } from "../../domain/backup-schedule.js";
import { loadPlansFor, type Plans } from "../../domain/plans.js";
import type { InstanceRecord } from "../../store/types.js";
import { raiseAlert, type AlertSink } from "../alerts.js";
import { LIVE_STATUSES } from "../coordination/leases/instance.js";
import { messageOf } from "../instance-lookup.js";
import type { Deps } from "../ports.js";
import { backupInstance } from "./take.js";

export interface ScheduledRun {
  customerId: string;
  ok: boolean;
  backupId?: string;
  error?: string;
}

export interface BackupTickReport {
  at: string;
  due: number;
  ok: number;
  failed: number;
  runs: ScheduledRun[];
}

export interface BackupTickOptions {
  alerts: AlertSink;
  /** Backups at once across the fleet. Default 2. */
  concurrency?: number;
  plansFile?: string;
  /** Stops starting new backups (those under way finish). */
  signal?: AbortSignal;
  /** After a failed scheduled backup, wait this long before the next try. Default 30 min. */
  retryAfterMs?: number;
}

/** Which live instances are due now, from their plan's schedule and their backup history. */
export async function dueInstances(deps: Deps, plans: Plans, retryAfterMs?: number): Promise<{ due: InstanceRecord[]; latest: Awaited<ReturnType<Deps["store"]["backups"]["latest"]>> }> {
  const now = deps.clock.now();
  const rows = (await deps.store.instances.list()).filter((r) => LIVE_STATUSES.includes(r.status) && (plans.plans[r.plan]?.backups.schedule ?? "none") !== "none");
  const latest = rows.length ? await deps.store.backups.latest(rows.map((r) => r.customerId)) : new Map();
  const due = rows.filter((r) => {
    const h = latest.get(r.customerId);
    const attempt = h?.lastAttempt ?? null;
    return isDue(r.customerId, plans.plans[r.plan]!.backups, { lastOkAt: h?.lastOk?.at ?? null, lastAttemptAt: attempt?.finishedAt ?? attempt?.at ?? null, lastAttemptOk: attempt ? attempt.status === "ok" : null }, now, retryAfterMs);
  });
  return { due, latest };
}

/**
 * The daemon's backup tick: backs up every due instance, a few at a time, and alerts once per
 * failure episode (the first failure after a success) and once when it ends (the first success).
 */
export async function runDueBackups(deps: Deps, opts: BackupTickOptions): Promise<BackupTickReport> {
  const plans = await loadPlansFor(deps, opts.plansFile);
  // The history that made them due is also what tells a new failure episode from an old one.
  const { due, latest: before } = await dueInstances(deps, plans, opts.retryAfterMs);
  const limit = pLimit(opts.concurrency ?? 2);
  const runs = await Promise.all(
    due.map((row) =>
      limit(async (): Promise<ScheduledRun | null> => {
        if (opts.signal?.aborted) return null;
        const prev = before.get(row.customerId)?.lastAttempt ?? null;
        try {
          const r = await backupInstance(deps, { customerId: row.customerId, trigger: "schedule", plansFile: opts.plansFile });
          if (prev?.status === "failed") await alert(deps, opts.alerts, "backup-recovered", row, `backup ${r.id} succeeded after failures (last failure: ${prev.detail ?? "unknown"})`);
          return { customerId: row.customerId, ok: true, backupId: r.id };
        } catch (err) {
          const why = messageOf(err).split("\n")[0]!.slice(0, 300);
          if (prev?.status !== "failed") await alert(deps, opts.alerts, "backup-failed", row, `scheduled backup failed: ${why}`);
          return { customerId: row.customerId, ok: false, error: why };
        }
      }),
    ),
  );
  const done = runs.filter((r): r is ScheduledRun => r !== null);
  return { at: deps.clock.now().toISOString(), due: due.length, ok: done.filter((r) => r.ok).length, failed: done.filter((r) => !r.ok).length, runs: done };
}

async function alert(deps: Deps, sink: AlertSink, kind: "backup-failed" | "backup-recovered", row: InstanceRecord, reason: string): Promise<void> {
  const host = await deps.store.hosts.getById(row.hostId);
  await raiseAlert(deps, sink, { kind, customerId: row.customerId, host: host?.name ?? null, reason, at: deps.clock.now().toISOString(), attempts: 0 });
}
