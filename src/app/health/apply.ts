import { decide, type Observation, type PolicyConfig, type PolicyDecision, type PolicyState } from "../../domain/health-policy.js";
import { startHeartbeat } from "../coordination/leases/heartbeat.js";
import { healthRestartCommand, RESTART_LOCKED } from "../../remote/commands/health.js";
import type { RemoteShell } from "../../remote/types.js";
import type { HealthColumns, Lease } from "../../store/health-types.js";
import type { HostRecord, InstanceRecord, InstanceStatus } from "../../store/types.js";
import { step } from "../events.js";
import { raiseAlert, type AlertSink } from "../alerts.js";
import { messageOf } from "./host.js";
import type { HealthAction } from "./types.js";
import { audit } from "../audit/record.js";
import type { Deps } from "../ports.js";

/** Statuses the health policy owns. Stopped, destroyed, provisioning and failed are never touched. */
export const SWEPT_STATUSES: InstanceStatus[] = ["healthy", "unhealthy", "quarantined"];

export interface ApplyContext {
  deps: Deps;
  cfg: PolicyConfig;
  owner: string;
  leaseTtlMs: number;
  alerts: AlertSink;
  host: HostRecord;
  shell: RemoteShell;
  signal?: AbortSignal;
  afterLease?: (customerId: string) => void;
}

export interface Applied {
  action: HealthAction;
  note: string | null;
  state: PolicyState;
}

export function stateOf(row: InstanceRecord): PolicyState {
  return {
    status: row.status === "quarantined" ? "quarantined" : row.status === "unhealthy" ? "unhealthy" : "healthy",
    consecutiveFailures: row.consecutiveFailures,
    restartCount: row.restartCount,
    restartWindowAt: row.restartWindowAt ?? null,
    lastRestartAt: row.lastRestartAt,
    quarantinedAt: row.quarantinedAt,
  };
}

/** True when a sweep changes nothing in the row, so no lease is needed (the steady state). */
export function isSteady(row: InstanceRecord, d: PolicyDecision): boolean {
  const s = stateOf(row);
  return d.action.type === "none" && d.state.status === s.status && d.state.consecutiveFailures === s.consecutiveFailures && d.state.restartCount === s.restartCount;
}

/**
 * Applies decisions that need no remote action (counting failures, quarantine, recovery) as one
 * batch of compare-and-sets: each row changes only if it still holds what this sweep read and no
 * other process holds its lease. Exactly one process therefore makes each transition, and raises
 * its alert.
 */
export async function applyTransitions(ctx: ApplyContext, items: { row: InstanceRecord; obs: Observation; d: PolicyDecision }[]): Promise<Applied[]> {
  if (items.length === 0) return [];
  const now = ctx.deps.clock.now();
  const reasonOf = (obs: Observation) => (obs.kind === "unhealthy" ? obs.reason : null);
  const applied = await ctx.deps.store.leases.transition(
    items.map(({ row, obs, d }) => ({ customerId: row.customerId, expect: healthColumns(row), patch: patchOf(d.state, reasonOf(obs), now) })),
    now,
  );
  // One at a time: a host where everything fails at once should not queue hundreds of writes together.
  const out: Applied[] = [];
  for (const [i, { row, obs, d }] of items.entries()) {
    out.push(applied[i] ? await afterTransition(ctx, row, d, reasonOf(obs), now) : { action: "locked", note: "changed or leased by another process since this sweep read it", state: stateOf(row) });
  }
  return out;
}

/**
 * A restart, under the instance's lease. The row is re-read under the lease and the policy decided
 * again, so two processes never restart one failure episode twice: the loser of the lease skips,
 * and a process that gets the lease after a restart sees that restart (and its cooldown).
 */
export async function applyRestart(ctx: ApplyContext, row: InstanceRecord, obs: Observation, observedAt: Date): Promise<Applied> {
  const { store } = ctx.deps;
  const now = ctx.deps.clock.now();
  const lease = await store.leases.acquire({ customerId: row.customerId, owner: ctx.owner, ttlMs: ctx.leaseTtlMs, now, statuses: SWEPT_STATUSES });
  if (!lease) return { action: "locked", note: `held by ${row.leaseOwner ?? "another process"}, or no longer ${SWEPT_STATUSES.join("/")}`, state: stateOf(row) };
  ctx.afterLease?.(row.customerId);
  let done = false;
  try {
    const fresh = lease.row;
    if (fresh.lastRestartAt && fresh.lastRestartAt > observedAt) {
      return { action: "stale", note: "observed before the latest restart", state: stateOf(fresh) };
    }
    const d = decide(stateOf(fresh), obs, now, ctx.cfg);
    const reason = obs.kind === "unhealthy" ? obs.reason : null;
    if (d.action.type === "restart") {
      if (ctx.signal?.aborted) return { action: "none", note: "shutting down: restart left to the next sweep", state: stateOf(fresh) };
      done = true;
      return await restart(ctx, lease, d, d.action.attempt, d.action.reason, now);
    }
    done = await store.leases.release(lease, patchOf(d.state, reason, now));
    if (!done) return { action: "locked", note: "the lease was taken over", state: stateOf(fresh) };
    return await afterTransition(ctx, fresh, d, reason, now);
  } finally {
    if (!done) await store.leases.release(lease).catch(() => false);
  }
}

function healthColumns(row: InstanceRecord): HealthColumns {
  return { status: row.status, consecutiveFailures: row.consecutiveFailures, restartCount: row.restartCount, lastRestartAt: row.lastRestartAt, quarantinedAt: row.quarantinedAt };
}

async function afterTransition(ctx: ApplyContext, before: InstanceRecord, d: PolicyDecision, reason: string | null, now: Date): Promise<Applied> {
  const { deps, host } = ctx;
  const a = d.action;
  if (a.type === "quarantine") {
    await raiseAlert(deps, ctx.alerts, { kind: "quarantine", customerId: before.customerId, host: host.name, reason: a.reason, at: now.toISOString(), attempts: a.attempts });
    return { action: "quarantined", note: a.reason, state: d.state };
  }
  if (a.type === "recovered") {
    await audit(deps, "health.recovered", before.customerId, "ok", `was ${before.status}`);
    if (a.from === "quarantined") {
      await raiseAlert(deps, ctx.alerts, { kind: "recovered", customerId: before.customerId, host: host.name, reason: `healthy again after quarantine since ${before.quarantinedAt?.toISOString() ?? "?"}`, at: now.toISOString(), attempts: before.restartCount });
    }
    return { action: "recovered", note: null, state: d.state };
  }
  if (before.status === "healthy" && d.state.status === "unhealthy") await audit(deps, "health.unhealthy", before.customerId, "ok", reason ?? undefined);
  return { action: "none", note: a.type === "none" ? a.note ?? null : null, state: d.state };
}

/** A restart is `compose restart`/`up -d` plus the lock wait: well within two minutes. */
const RESTART_TIMEOUT_MS = 120_000;

/** Records the restart first (fenced), then runs it: a crash in between can never lead to a second restart. */
async function restart(ctx: ApplyContext, lease: Lease, d: PolicyDecision, attempt: number, reason: string, now: Date): Promise<Applied> {
  const { deps, host, cfg } = ctx;
  const customerId = lease.customerId;
  const label = `attempt ${attempt}/${cfg.maxRestarts}`;
  const intent = await deps.store.leases.write(lease, { ...patchOf(d.state, reason, now), statusReason: `restarting (${label}): ${reason}`.slice(0, 500) });
  if (!intent) {
    await deps.store.leases.release(lease).catch(() => false);
    return { action: "locked", note: "the lease was taken over before the restart", state: d.state };
  }
  let outcome: string | null;
  // Renewed while the restart runs, so a short lease never lapses under a slow one, and a daemon
  // killed mid-restart frees the instance within one TTL.
  const stopHeartbeat = startHeartbeat(deps.clock, (until) => deps.store.leases.renew(lease, until), { ttlMs: ctx.leaseTtlMs, renewEveryMs: Math.max(1_000, Math.floor(ctx.leaseTtlMs / 3)) });
  try {
    const res = await step(deps.onEvent, "restart", { host: host.name, customerId, detail: () => label }, () =>
      ctx.shell.exec(healthRestartCommand(host.remoteRoot, customerId), { timeoutMs: RESTART_TIMEOUT_MS }),
    );
    outcome = res.code === 0 ? null : res.code === RESTART_LOCKED ? "the instance is locked by another clawfleet run" : `exit ${res.timedOut ? "timeout" : res.code}: ${tail(res.stderr)}`;
  } catch (err) {
    outcome = messageOf(err);
  } finally {
    stopHeartbeat();
  }
  await audit(deps, "health.restart", customerId, outcome === null ? "ok" : "failed", `${label}: ${reason}${outcome ? `; ${outcome}` : ""}`.slice(0, 500));
  const statusReason = outcome === null ? `restarted (${label}): ${reason}` : `restart failed (${label}): ${outcome}`;
  // The cooldown and the staleness check count from the end of the restart: what anyone saw while
  // the container was going down and up belongs to this restart, not to a new episode.
  const finished = deps.clock.now();
  await deps.store.leases.release(lease, { statusReason: statusReason.slice(0, 500), lastRestartAt: finished }).catch(() => false);
  return { action: outcome === null ? "restarted" : "restart-failed", note: outcome ?? label, state: d.state };
}

function patchOf(s: PolicyState, reason: string | null, now: Date): Partial<InstanceRecord> {
  return {
    status: s.status,
    statusReason: s.status === "healthy" ? null : s.status === "quarantined" ? `quarantined: ${reason ?? "unhealthy"}`.slice(0, 500) : reason?.slice(0, 500) ?? null,
    consecutiveFailures: s.consecutiveFailures,
    restartCount: s.restartCount,
    restartWindowAt: s.restartWindowAt,
    lastRestartAt: s.lastRestartAt,
    quarantinedAt: s.quarantinedAt,
    lastHealthAt: now,
  };
}

function tail(text: string): string {
  return text.trim().split("\n").slice(-3).join(" | ").slice(-300);
}
