import type { SweepReport } from "../app/health/types.js";
import type { HealthHistory } from "../app/health/history.js";
import type { FleetReport } from "../app/health/report.js";
import type { AlertOptions, HealthCheckOptions, HealthDaemonOptions, RunningDaemon } from "./facade.js";

/** `fleet.health`: sweeps, the restart policy, history and the daemon. */
export interface FleetHealth {
  /** One sweep: history, counters, restarts and alerts. `report.ok` is false unless every host answered and every instance is healthy. */
  check(opts?: HealthCheckOptions): Promise<SweepReport>;
  /** An instance's HealthCheck rows, newest first. NotFoundError for an unknown id. */
  history(customerId: string, opts?: { limit?: number; since?: Date }): Promise<HealthHistory>;
  /** The fleet summary the daemon sends daily; recorded as an Event and sent as a "report" alert. */
  report(opts?: AlertOptions): Promise<FleetReport>;
  /** Deletes HealthCheck rows older than the retention (default plans.yaml health.retention); returns the count. */
  prune(retentionMs?: number): Promise<number>;
  /** Starts sweeping on a schedule until `stop()`. Keep the fleet open meanwhile; close it after. */
  daemon(opts?: HealthDaemonOptions): Promise<RunningDaemon>;
}
