import { isOverdue } from "../../domain/backup-schedule.js";
import type { Plans } from "../../domain/plans.js";
import type { BackupRecord } from "../../store/backup-types.js";
import type { InstanceRecord } from "../../store/types.js";
import { LIVE_STATUSES } from "../coordination/leases/instance.js";
import type { Deps } from "../ports.js";

/** An instance's backups at a glance, for `status`. */
export interface BackupSummary {
  /** The plan's schedule; null when the plans cannot say. */
  schedule: "daily" | "weekly" | "none" | null;
  last: null | { id: string; at: string; ageSec: number; bytes: number | null };
  /** The newest attempt failed: why. */
  lastFailure: null | { at: string; detail: string | null };
  overdue: boolean;
}

export async function backupSummary(deps: Deps, row: InstanceRecord, plans: Plans | null): Promise<BackupSummary> {
  const h = (await deps.store.backups.latest([row.customerId])).get(row.customerId);
  const policy = plans?.plans[row.plan]?.backups ?? null;
  const now = deps.clock.now();
  const ok = h?.lastOk ?? null;
  const attempt = h?.lastAttempt ?? null;
  return {
    schedule: policy?.schedule ?? null,
    last: ok ? { id: ok.id, at: ok.at.toISOString(), ageSec: Math.round((now.getTime() - ok.at.getTime()) / 1000), bytes: ok.bytes } : null,
    lastFailure: attempt && attempt.status === "failed" ? { at: attempt.at.toISOString(), detail: attempt.detail } : null,
    overdue: policy ? isOverdue(policy, ok?.at ?? null, row.createdAt, now) : false,
  };
}

/** Live instances whose plan schedules backups and whose last good one is too old (one query). */
export async function overdueBackups(deps: Deps, rows: InstanceRecord[], plans: Plans): Promise<string[]> {
  const live = rows.filter((r) => LIVE_STATUSES.includes(r.status) && plans.plans[r.plan]);
  const latest = await deps.store.backups.latest(live.map((r) => r.customerId));
  const now = deps.clock.now();
  const lastOk = (r: InstanceRecord): BackupRecord | null => latest.get(r.customerId)?.lastOk ?? null;
  return live.filter((r) => isOverdue(plans.plans[r.plan]!.backups, lastOk(r)?.at ?? null, r.createdAt, now)).map((r) => r.customerId);
}
