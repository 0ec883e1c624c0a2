import { healthHistory, pruneHealthHistory, type HealthHistory } from "../app/health/history.js";
import { healthReport, type FleetReport } from "../app/health/report.js";
import { healthSweep } from "../app/health/sweep.js";
import type { SweepOptions, SweepReport } from "../app/health/types.js";
import type { Deps } from "../app/ports.js";
import type { PruneResult } from "../app/lifecycle/prune.js";
import { loadPlansFor } from "../domain/plans.js";
import { startHealthDaemon, type DaemonOptions, type HealthDaemon } from "./daemon.js";
import { checkCron } from "./scheduler.js";
import type { BackupTickReport } from "../app/backup/index.js";
import { alertSink, type AlertOptions } from "./alerts/sink.js";

export type { AlertOptions };

export type HealthCheckOptions = Omit<SweepOptions, "owner" | "alerts"> & AlertOptions;

export interface HealthDaemonOptions extends AlertOptions, Omit<DaemonOptions, "every" | "daily" | "retentionMs" | "alerts" | "expire" | "backups"> {
  /** Run the plans' scheduled backups (plans.yaml `backups:`). Default true. */
  backups?: boolean;
  /** Scheduled backups at once across the fleet. Default 2. */
  backupConcurrency?: number;
  /** After a failed scheduled backup, wait this long before the next try. Default 30 min. */
  backupRetryAfterMs?: number;
  /** Told what each backup tick did (only ticks with due backups). */
  onBackups?: (r: BackupTickReport) => void;
  /** Destroy expired instances daily, as `clawfleet prune` does. Default true. */
  expire?: boolean;
  /** Told what the daily expiry prune did. */
  onExpire?: (r: PruneResult) => void;
  /** Default: plans.yaml health.sweepSchedule ("*\/5 * * * *"). */
  every?: string;
  /** Default: plans.yaml health.reportSchedule ("0 6 * * *"). */
  daily?: string;
  /** Default: plans.yaml health.retention (30d). */
  retentionMs?: number;
  /** Serve Prometheus /metrics and /healthz on `[ADDR:]PORT` (a bare port: 127.0.0.1; port 0: any free one). Default off. */
  metricsListen?: string;
}

/** The running daemon, as the facade returns it. */
export interface RunningDaemon extends HealthDaemon {
  /** Where /metrics is served, e.g. 127.0.0.1:9464; null without metricsListen. */
  readonly metricsAddress: string | null;
}

/** How long `check` waits for webhook deliveries (and their retries) before giving up on them. */
const CHECK_DRAIN_MS = 30_000;

export async function check(deps: Deps, opts: HealthCheckOptions = {}): Promise<SweepReport> {
  const sink = alertSink(deps, opts);
  try {
    return await healthSweep(deps, { ...opts, alerts: sink });
  } finally {
    await sink.drain(CHECK_DRAIN_MS);
    sink.close();
  }
}

export const history = (deps: Deps, customerId: string, opts?: { limit?: number; since?: Date }): Promise<HealthHistory> => healthHistory(deps, customerId, opts);

export async function report(deps: Deps, opts: AlertOptions = {}): Promise<FleetReport> {
  const sink = alertSink(deps, opts);
  try {
    return await healthReport(deps, { alerts: sink });
  } finally {
    await sink.drain(CHECK_DRAIN_MS);
    sink.close();
  }
}

export async function prune(deps: Deps, retentionMs?: number): Promise<number> {
  const plans = await loadPlansFor(deps);
  return pruneHealthHistory(deps, retentionMs ?? plans.health.retentionMs);
}

/** Starts the daemon; its `stop()` also flushes pending alerts (bounded). Closing connections is the caller's `fleet.close()`. */
export async function daemon(deps: Deps, opts: HealthDaemonOptions = {}): Promise<RunningDaemon> {
  const plans = await loadPlansFor(deps, opts.sweep?.plansFile);
  const every = checkCron(opts.every ?? plans.health.sweepSchedule, "--every");
  const daily = checkCron(opts.daily ?? plans.health.reportSchedule, "--daily");
  const { startDaemonMetrics } = opts.metricsListen ? await import("./metrics/index.js") : { startDaemonMetrics: null };
  let period = () => 300_000;
  const metrics = startDaemonMetrics ? await startDaemonMetrics(deps, { listen: opts.metricsListen!, plans: Object.keys(plans.plans), periodMs: () => period() }) : null;
  if (metrics) deps = metrics.deps;
  const sink = alertSink(deps, opts, metrics ? (kind, result) => metrics.metrics.alerts.inc({ kind, result }) : undefined);
  const expire = opts.expire === false ? undefined : async () => {
    const { prune: pruneExpired } = await import("../app/lifecycle/prune.js");
    // prune records its own Events; the sink only delivers the announcement.
    opts.onExpire?.(await pruneExpired(deps, { announce: (a) => sink.send(a) }));
  };
  const backups = opts.backups === false ? undefined : async (signal: AbortSignal) => {
    const { runDueBackups } = await import("../app/backup/index.js");
    const r = await runDueBackups(deps, { alerts: sink, concurrency: opts.backupConcurrency, retryAfterMs: opts.backupRetryAfterMs, plansFile: opts.sweep?.plansFile, signal });
    if (r.due > 0) opts.onBackups?.(r);
  };
  const d = startHealthDaemon(deps, {
    ...opts, every, daily, retentionMs: opts.retentionMs ?? plans.health.retentionMs, alerts: sink, expire, backups,
    onSweep: (r) => (metrics?.onSweep(r), opts.onSweep?.(r)),
    onError: (err, what) => (what === "sweep" && metrics?.onSweepError(), opts.onError?.(err, what)),
  });
  period = d.periodMs;
  return {
    owner: d.owner,
    periodMs: d.periodMs,
    metricsAddress: metrics?.server.address ?? null,
    sweepNow: d.sweepNow,
    stopped: d.stopped,
    async stop() {
      await d.stop();
      await sink.drain(10_000);
      sink.close();
      await metrics?.close();
    },
  };
}
