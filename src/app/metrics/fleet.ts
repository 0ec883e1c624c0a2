import type { InstanceStatus } from "../../store/types.js";
import { overdueBackups } from "../backup/summary.js";
import { loadPlansFor } from "../../domain/plans.js";
import { LIVE_STATUSES } from "../coordination/leases/instance.js";
import type { Deps } from "../ports.js";

export const INSTANCE_STATUSES: InstanceStatus[] = ["provisioning", "healthy", "unhealthy", "failed", "stopped", "quarantined"];
export const HOST_STATUSES = ["active", "down", "drained"] as const;

/** The fleet as gauges see it: counts only, never a customer id. */
export interface FleetSnapshot {
  instances: { status: string; plan: string; count: number }[];
  hosts: Record<(typeof HOST_STATUSES)[number], number>;
  quarantined: number;
  /** Live instances whose plan schedules backups and whose last good one is too old; null when the plans cannot be read. */
  backupsOverdue: number | null;
  /** Age of the oldest "last good backup" among instances whose plan schedules backups; null when none has one. */
  oldestLastBackupAgeSec: number | null;
}

export async function fleetSnapshot(deps: Deps): Promise<FleetSnapshot> {
  const [rows, hosts] = await Promise.all([deps.store.instances.list(), deps.store.hosts.list()]);
  const counts = new Map<string, { status: string; plan: string; count: number }>();
  for (const r of rows) {
    const k = `${r.status}/${r.plan}`;
    counts.set(k, { status: r.status, plan: r.plan, count: (counts.get(k)?.count ?? 0) + 1 });
  }
  const hostCounts = { active: 0, down: 0, drained: 0 };
  for (const h of hosts) hostCounts[h.downSince ? "down" : h.status === "drained" ? "drained" : "active"]++;
  const snap: FleetSnapshot = { instances: [...counts.values()], hosts: hostCounts, quarantined: rows.filter((r) => r.status === "quarantined").length, backupsOverdue: null, oldestLastBackupAgeSec: null };
  const plans = await loadPlansFor(deps).catch(() => null);
  if (!plans) return snap;
  snap.backupsOverdue = (await overdueBackups(deps, rows, plans)).length;
  const scheduled = rows.filter((r) => LIVE_STATUSES.includes(r.status) && plans.plans[r.plan]?.backups?.schedule && plans.plans[r.plan]!.backups!.schedule !== "none");
  const latest = await deps.store.backups.latest(scheduled.map((r) => r.customerId));
  const now = deps.clock.now().getTime();
  const ages = scheduled.map((r) => latest.get(r.customerId)?.lastOk?.at).filter((d): d is Date => !!d).map((d) => (now - d.getTime()) / 1000);
  snap.oldestLastBackupAgeSec = ages.length ? Math.max(...ages) : null;
  return snap;
}
