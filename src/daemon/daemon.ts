import { setMaxListeners } from "node:events";
import type { AlertSink } from "../app/alerts.js";
import { pruneHealthHistory } from "../app/health/history.js";
import { healthReport, type FleetReport } from "../app/health/report.js";
import { healthSweep, leaseOwnerId } from "../app/health/sweep.js";
import type { SweepOptions, SweepReport } from "../app/health/types.js";
import type { Deps } from "../app/ports.js";
import { scheduleJob, type Job } from "./scheduler.js";

export interface DaemonOptions {
  /** Sweep schedule (cron). */
  every: string;
  /** Report + history pruning schedule (cron). */
  daily: string;
  /** HealthCheck rows older than this are pruned daily (and at start). */
  retentionMs: number;
  alerts: AlertSink;
  sweep?: Omit<SweepOptions, "owner" | "alerts" | "signal">;
  /** Sweep once right away, which also warms every connection. Default true. */
  sweepAtStart?: boolean;
  onSweep?: (r: SweepReport) => void;
  onReport?: (r: FleetReport) => void;
  /** A sweep tick came while the previous sweep still ran; it was skipped. */
  onSkip?: () => void;
  onError?: (err: unknown, what: "sweep" | "report" | "prune" | "expire" | "backup") => void;
  /** Runs with the daily report, after history pruning: destroying expired instances (issue 6's prune). */
  expire?: () => Promise<unknown>;
  /** Runs on the sweep schedule, never two at once and never holding up a sweep: the due backups. */
  backups?: (signal: AbortSignal) => Promise<unknown>;
}

export interface HealthDaemon {
  /** This daemon's lease owner id. */
  readonly owner: string;
  /** The sweep schedule's period as of now. */
  periodMs(): number;
  /** Runs a sweep now unless one is running (then null). */
  sweepNow(): Promise<SweepReport | null>;
  /** Stops the schedules, abandons the sweep's pending host probes, lets restarts under way finish. */
  stop(): Promise<void>;
  /** Resolves once stop() has finished. */
  readonly stopped: Promise<void>;
}

/** The health daemon: sweeps on a schedule over warm pooled connections, never two at once. */
export function startHealthDaemon(deps: Deps, opts: DaemonOptions): HealthDaemon {
  const owner = leaseOwnerId();
  const abort = new AbortController();
  // Every in-flight exec listens on it: one per host being swept.
  setMaxListeners(0, abort.signal);
  let sweeping: Promise<SweepReport | null> | null = null;
  let daily: Promise<void> | null = null;
  let markStopped!: () => void;
  const stopped = new Promise<void>((r) => (markStopped = r));

  const sweepNow = (): Promise<SweepReport | null> => {
    if (abort.signal.aborted) return Promise.resolve(null);
    if (sweeping) {
      opts.onSkip?.();
      return Promise.resolve(null);
    }
    const run = healthSweep(deps, { ...opts.sweep, owner, alerts: opts.alerts, signal: abort.signal, period: period() })
      .then((r) => (opts.onSweep?.(r), r))
      .catch((err) => (opts.onError?.(err, "sweep"), null))
      .finally(() => (sweeping = null));
    sweeping = run;
    return run;
  };
  const prune = () => pruneHealthHistory(deps, opts.retentionMs).then(() => undefined, (err) => opts.onError?.(err, "prune"));
  const reportAndPrune = (): Promise<void> => {
    if (daily || abort.signal.aborted) return daily ?? Promise.resolve();
    daily = healthReport(deps, { alerts: opts.alerts })
      .then((r) => opts.onReport?.(r), (err) => opts.onError?.(err, "report"))
      .then(prune)
      .then(async () => void (await opts.expire?.().catch((err) => opts.onError?.(err, "expire"))))
      .finally(() => (daily = null));
    return daily;
  };

  let backingUp: Promise<void> | null = null;
  const backupNow = (): Promise<void> => {
    if (backingUp || abort.signal.aborted || !opts.backups) return backingUp ?? Promise.resolve();
    backingUp = opts.backups(abort.signal).then(() => undefined, (err) => opts.onError?.(err, "backup")).finally(() => (backingUp = null));
    return backingUp;
  };

  const sweepJob = scheduleJob(opts.every, "clawfleet-health-sweep", sweepNow);
  // The period this sweep covers. Daemons on one DB tick together: a host counts as swept for this
  // period when its sweptAt is past the period's middle, which tolerates clocks and ticks apart by
  // less than half a period. Hosts others still hold are waited for until just before the next tick.
  const period = () => {
    const at = deps.clock.now();
    const ms = Math.max(1000, sweepJob.periodMs() ?? 300_000);
    const next = sweepJob.next()?.getTime() ?? at.getTime() + ms;
    return { at, dueBefore: new Date(at.getTime() - ms / 2), deadline: new Date(Math.max(at.getTime() + ms / 2, next - 250)) };
  };
  const jobs: Job[] = [sweepJob, scheduleJob(opts.daily, "clawfleet-health-report", reportAndPrune)];
  if (opts.backups) jobs.push(scheduleJob(opts.every, "clawfleet-backups", backupNow));
  if (opts.sweepAtStart !== false) void sweepNow().then(() => backupNow());
  const firstPrune = prune();

  let stopping: Promise<void> | null = null;
  return {
    owner,
    periodMs: () => sweepJob.periodMs() ?? 300_000,
    sweepNow,
    stopped,
    stop() {
      stopping ??= (async () => {
        for (const j of jobs) j.stop();
        abort.abort(new Error("the health daemon is stopping"));
        await Promise.allSettled([sweeping, daily, firstPrune, backingUp]);
        markStopped();
      })();
      return stopping;
    },
  };
}
