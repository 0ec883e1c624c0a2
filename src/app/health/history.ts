import { NotFoundError } from "../../errors.js";
import type { HealthCheckRecord } from "../../store/health-types.js";
import { audit } from "../audit/record.js";
import type { Deps } from "../ports.js";

export interface HealthHistory {
  customerId: string;
  host: string;
  status: string;
  statusReason: string | null;
  consecutiveFailures: number;
  restarts: number;
  lastRestartAt: string | null;
  quarantinedAt: string | null;
  /** Newest first. */
  checks: Pick<HealthCheckRecord, "at" | "ok" | "status" | "latencyMs" | "detail">[];
}

/** An instance's recent HealthCheck rows and its current policy counters. */
export async function healthHistory(deps: Deps, customerId: string, opts: { limit?: number; since?: Date } = {}): Promise<HealthHistory> {
  const row = await deps.store.instances.get(customerId);
  if (!row) throw new NotFoundError(`no instance for customer ${customerId}`, "see the instances with `clawfleet list`");
  const [host, checks] = await Promise.all([deps.store.hosts.getById(row.hostId), deps.store.healthChecks.history(row.id, opts)]);
  return {
    customerId,
    host: host?.name ?? "?",
    status: row.status,
    statusReason: row.statusReason,
    consecutiveFailures: row.consecutiveFailures,
    restarts: row.restartCount,
    lastRestartAt: row.lastRestartAt?.toISOString() ?? null,
    quarantinedAt: row.quarantinedAt?.toISOString() ?? null,
    checks: checks.map(({ at, ok, status, latencyMs, detail }) => ({ at, ok, status, latencyMs, detail })),
  };
}

/** Deletes HealthCheck rows older than the retention; returns how many went. */
export async function pruneHealthHistory(deps: Deps, retentionMs: number): Promise<number> {
  const before = new Date(deps.clock.now().getTime() - retentionMs);
  const removed = await deps.store.healthChecks.prune(before);
  if (removed > 0) await audit(deps, "health.prune", "health-history", "ok", `${removed} row(s) older than ${before.toISOString()}`);
  return removed;
}
