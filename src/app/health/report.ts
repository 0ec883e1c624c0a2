import { formatMs } from "../../domain/health-policy.js";
import { raiseAlert, type AlertSink } from "../alerts.js";
import type { Deps } from "../ports.js";
import type { InstanceRecord } from "../../store/types.js";
import { loadPlansFor } from "../../domain/plans.js";
import { overdueBackups } from "../backup/summary.js";

/** The daily summary of the fleet's health. */
export interface FleetReport {
  at: string;
  periodMs: number;
  instances: { total: number; healthy: number; unhealthy: number; quarantined: number; stopped: number; other: number };
  /** health.restart events in the period. */
  restarts: number;
  /** Quarantine alerts in the period. */
  quarantines: number;
  hostsDown: { name: string; since: string; reason: string | null }[];
  quarantined: string[];
  /** Instances whose plan schedules backups and whose last good backup is older than the period plus an hour. */
  backupsOverdue: number;
  /** Their ids (the first 50). */
  overdueBackups: string[];
}

/** Builds the report from current rows and the period's Events, records it, and sends it as an alert. */
export async function healthReport(deps: Deps, opts: { periodMs?: number; alerts?: AlertSink } = {}): Promise<FleetReport> {
  const periodMs = opts.periodMs ?? 86_400_000;
  const now = deps.clock.now();
  const since = new Date(now.getTime() - periodMs);
  const [rows, hosts, restarts, quarantines] = await Promise.all([
    deps.store.instances.list(),
    deps.store.hosts.list(),
    deps.store.healthChecks.countEvents("health.restart", since),
    deps.store.healthChecks.countEvents("health.alert.quarantine", since),
  ]);
  const overdue = await overdueOf(deps, rows);
  const by = (s: string) => rows.filter((r) => r.status === s).length;
  const known = by("healthy") + by("unhealthy") + by("quarantined") + by("stopped");
  const report: FleetReport = {
    at: now.toISOString(),
    periodMs,
    instances: { total: rows.length, healthy: by("healthy"), unhealthy: by("unhealthy"), quarantined: by("quarantined"), stopped: by("stopped"), other: rows.length - known },
    restarts,
    quarantines,
    hostsDown: hosts.filter((h) => h.downSince).map((h) => ({ name: h.name, since: h.downSince!.toISOString(), reason: h.downReason ?? null })),
    quarantined: rows.filter((r) => r.status === "quarantined").map((r) => r.customerId),
    backupsOverdue: overdue.length,
    overdueBackups: overdue.slice(0, 50),
  };
  const text = reportLine(report);
  await deps.store.events.record({ actor: deps.actor, action: "health.report", target: "fleet", outcome: "ok", detail: text.slice(0, 500) });
  if (opts.alerts) await raiseAlert(deps, opts.alerts, { kind: "report", customerId: null, host: null, reason: text, at: report.at, attempts: 0, report });
  return report;
}

/** One line: "12 instances: 10 healthy, 1 unhealthy, 1 quarantined; 3 restarts, 1 quarantine in 1d; hosts down: vps-3". */
export function reportLine(r: FleetReport): string {
  const i = r.instances;
  const down = r.hostsDown.length ? r.hostsDown.map((h) => h.name).join(", ") : "none";
  return `${i.total} instances: ${i.healthy} healthy, ${i.unhealthy} unhealthy, ${i.quarantined} quarantined, ${i.stopped} stopped; ${r.restarts} restart(s), ${r.quarantines} quarantine(s) in the last ${formatMs(r.periodMs)}; hosts down: ${down}; backups overdue: ${r.backupsOverdue}`;
}

/** The plans may be unreadable (a bad edit); the report still goes out, without the overdue count. */
async function overdueOf(deps: Deps, rows: InstanceRecord[]): Promise<string[]> {
  try {
    return await overdueBackups(deps, rows, await loadPlansFor(deps));
  } catch {
    return [];
  }
}
