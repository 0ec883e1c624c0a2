import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { AlertKind } from "../../app/alerts.js";
import { HOST_STATUSES, INSTANCE_STATUSES, type FleetSnapshot } from "../../app/metrics/fleet.js";

export const ALERT_KINDS: AlertKind[] = ["quarantine", "recovered", "host-down", "host-back", "report", "expired", "backup-failed", "backup-recovered"];
export const ALERT_RESULTS = ["sent", "failed", "recorded"] as const;
export const SSH_ERROR_KINDS = ["connect", "auth", "hostkey", "timeout"] as const;
export const RESTART_REASONS = ["healthz", "exited", "missing"] as const;
export const SWEEP_RESULTS = ["ok", "attention", "error"] as const;
export const CHECK_RESULTS = ["healthy", "unhealthy", "unknown"] as const;

export type SshErrorKind = (typeof SSH_ERROR_KINDS)[number];

/**
 * The daemon's metrics on a registry of their own. Every label set known up front starts at 0, so
 * rate() and absent() work from the first scrape; no label ever carries a customer or host name.
 */
export function createMetrics(opts: { version: string; plans: string[]; snapshot: () => Promise<FleetSnapshot> }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const reg = [registry];
  new Gauge({ name: "clawfleet_build_info", help: "Always 1; the clawfleet version as a label", labelNames: ["version"], registers: reg }).set({ version: opts.version }, 1);
  const instances = new Gauge({ name: "clawfleet_instances", help: "Instances by status and plan (destroyed ones not counted)", labelNames: ["status", "plan"], registers: reg });
  const hosts = new Gauge({ name: "clawfleet_hosts", help: "Hosts by status: active, down (unreachable in the last sweep), drained", labelNames: ["status"], registers: reg });
  const quarantined = new Gauge({ name: "clawfleet_quarantined", help: "Instances quarantined after too many restarts", registers: reg });
  const overdue = new Gauge({ name: "clawfleet_backups_overdue", help: "Live instances whose plan schedules backups and whose last good backup is too old", registers: reg });
  const oldest = new Gauge({ name: "clawfleet_backup_oldest_last_success_age_seconds", help: "Age of the oldest last good backup among instances whose plan schedules backups", registers: reg });
  const m = {
    registry,
    sweepDuration: new Histogram({ name: "clawfleet_sweep_duration_seconds", help: "Wall time of one sweep", buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300], registers: reg }),
    sweeps: new Counter({ name: "clawfleet_sweeps_total", help: "Sweeps by result: ok (all reachable and healthy), attention, error (the sweep failed)", labelNames: ["result"], registers: reg }),
    lastSuccess: new Gauge({ name: "clawfleet_last_sweep_success_timestamp_seconds", help: "When the last sweep that ran to completion ended (Unix time)", registers: reg }),
    checks: new Counter({ name: "clawfleet_health_checks_total", help: "Instance health checks by result", labelNames: ["result"], registers: reg }),
    restarts: new Counter({ name: "clawfleet_restarts_total", help: "Restarts by the health policy, by what was wrong: healthz (failing /healthz), exited (container not running), missing (no container)", labelNames: ["reason"], registers: reg }),
    alerts: new Counter({ name: "clawfleet_alerts_total", help: "Alerts by kind and delivery result: sent or failed (webhook), recorded (Event only, no webhook)", labelNames: ["kind", "result"], registers: reg }),
    sshErrors: new Counter({ name: "clawfleet_ssh_errors_total", help: "SSH failures by kind", labelNames: ["kind"], registers: reg }),
    remoteCommand: new Histogram({ name: "clawfleet_remote_command_duration_seconds", help: "Wall time of remote commands over SSH", buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120], registers: reg }),
    /** Re-reads the fleet gauges from the store (after each sweep; scrapes use the last reading). */
    async refresh() {
      const s = await opts.snapshot();
      instances.reset();
      for (const st of INSTANCE_STATUSES) for (const p of opts.plans) instances.set({ status: st, plan: p }, 0);
      for (const i of s.instances) if (i.status !== "destroyed") instances.set({ status: i.status, plan: i.plan }, i.count);
      for (const st of HOST_STATUSES) hosts.set({ status: st }, s.hosts[st]);
      quarantined.set(s.quarantined);
      overdue.set(s.backupsOverdue ?? 0);
      oldest.set(s.oldestLastBackupAgeSec ?? 0);
    },
  };
  for (const r of SWEEP_RESULTS) m.sweeps.inc({ result: r }, 0);
  for (const r of CHECK_RESULTS) m.checks.inc({ result: r }, 0);
  for (const r of RESTART_REASONS) m.restarts.inc({ reason: r }, 0);
  for (const k of ALERT_KINDS) for (const r of ALERT_RESULTS) m.alerts.inc({ kind: k, result: r }, 0);
  for (const k of SSH_ERROR_KINDS) m.sshErrors.inc({ kind: k }, 0);
  for (const st of HOST_STATUSES) hosts.set({ status: st }, 0);
  for (const st of INSTANCE_STATUSES) for (const p of opts.plans) instances.set({ status: st, plan: p }, 0);
  quarantined.set(0);
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
