import os from "node:os";
import { randomBytes } from "node:crypto";
import pLimit from "p-limit";
import { decide, type PolicyConfig } from "../../domain/health-policy.js";
import { loadPlansFor, type Plans } from "../../domain/plans.js";
import { portsForSlot } from "../../domain/ports.js";
import { NotFoundError } from "../../errors.js";
import type { NewHealthCheck } from "../../store/health-types.js";
import type { HostRecord, InstanceRecord } from "../../store/types.js";
import { noAlerts } from "../alerts.js";
import { applyRestart, applyTransitions, isSteady, stateOf, SWEPT_STATUSES, type Applied, type ApplyContext } from "./apply.js";
import { probeHost, type HostProbe } from "./host.js";
import { healthOf, historyRow, observe, unknownOf } from "./observe.js";
import { hostOutage } from "./outage.js";
import type { HostHealth, InstanceHealth, SweepOptions, SweepReport } from "./types.js";
import { LEASE_POLICY } from "../coordination/leases/heartbeat.js";
import { sweepRound, type RoundPlan } from "./host-leases/round.js";
import type { Deps } from "../ports.js";

export const DEFAULT_CONCURRENCY = 32;
/** Hosts per lease claim and per history write. */
export const DEFAULT_CLAIM_BATCH = 8;
/** Short, as every operation lease: the restart renews it by heartbeat while it runs. */
export const DEFAULT_LEASE_TTL_MS = LEASE_POLICY.ttlMs;

/** A lease owner id that is unique per process and readable in the DB. */
export function leaseOwnerId(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
}

/** The policy settings: plans.yaml's `health:` section, overridden by flags. */
export function policyOf(plans: Plans, overrides: Partial<PolicyConfig> = {}): PolicyConfig {
  const h = plans.health;
  const base = { failureThreshold: h.failureThreshold, maxRestarts: h.maxRestarts, restartWindowMs: h.restartWindowMs, backoffInitialMs: h.backoffInitialMs, backoffMaxMs: h.backoffMaxMs };
  return { ...base, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
}

/**
 * One sweep: every host in parallel (bounded), one batched command each, then the policy per
 * instance. Hosts are claimed through host leases in batches, so several daemons on one DB share
 * them and never sweep one host at once; each batch's history is written in one go.
 */
export async function healthSweep(deps: Deps, opts: SweepOptions = {}): Promise<SweepReport> {
  const started = Date.now();
  const at = deps.clock.now();
  const plans = await loadPlansFor(deps, opts.plansFile);
  const cfg = policyOf(plans, opts.policy);
  const owner = opts.owner ?? leaseOwnerId();
  const { hosts, rowsOf, skipped } = await scope(deps, opts.customerId);
  const plan: RoundPlan = {
    owner, hosts, periodAt: opts.period?.at ?? at, dueBefore: opts.period?.dueBefore ?? null,
    deadline: opts.period?.deadline ?? new Date(at.getTime() + ONE_SHOT_WAIT_MS),
    record: opts.act !== false && !opts.customerId, concurrency: opts.concurrency ?? DEFAULT_CONCURRENCY, batch: opts.batch ?? DEFAULT_CLAIM_BATCH,
    signal: opts.signal, ttlMs: opts.leaseTtlMs,
  };
  const round = await sweepRound<HostResult>(deps, plan, {
    start(batch) {
      const rows = rowsOf(batch.map((h) => h.id));
      return batch.map((h) => rows.then((byHost) => sweepHost(deps, opts, cfg, plans, owner, h, byHost.get(h.id) ?? [])));
    },
    async flush(results) {
      // One write for the batch's history and one for its steady state.
      await deps.store.healthChecks.record(results.flatMap((r) => r.history));
      const steady = results.flatMap((r) => r.steadyIds);
      if (steady.length > 0) await deps.store.healthChecks.touchHealthy(steady, deps.clock.now());
    },
    complete: (r) => !r.abandoned,
  });
  // Claims go in lease order; reports read by host name, as before.
  const results = [...round.results].sort((x, y) => x.host.name.localeCompare(y.host.name));
  const hostList = results.map((r) => r.host);
  const instances = [...results.flatMap((r) => r.instances), ...skipped];
  const count = (f: (i: InstanceHealth) => boolean) => instances.filter(f).length;
  const summary = {
    instances: instances.length,
    healthy: count((i) => i.status === "healthy"),
    unhealthy: count((i) => i.status === "unhealthy"),
    unknown: count((i) => i.status === "unknown"),
    restarted: count((i) => i.action === "restarted" || i.action === "restart-failed"),
    quarantined: count((i) => i.instanceStatus === "quarantined"),
    hostsDown: hostList.filter((h) => !h.reachable).length,
  };
  const missed = round.missed.map((h) => h.name);
  const ok = summary.hostsDown === 0 && summary.healthy === summary.instances && missed.length === 0;
  return { at: at.toISOString(), durationMs: Date.now() - started, ok, hosts: hostList, instances, summary, sweptElsewhere: round.elsewhere, missed };
}

/** How long a one-shot check waits for hosts another sweeper is sweeping right now. */
export const ONE_SHOT_WAIT_MS = 60_000;

async function scope(deps: Deps, customerId?: string) {
  const hosts = await deps.store.hosts.list();
  // A snapshot per claimed batch: the policy compares against what was read, whatever the store hands out.
  const group = (rows: InstanceRecord[]) => {
    const byHost = new Map<string, InstanceRecord[]>();
    for (const r of rows.filter((r) => SWEPT_STATUSES.includes(r.status)).map((r) => ({ ...r }))) byHost.set(r.hostId, [...(byHost.get(r.hostId) ?? []), r]);
    return byHost;
  };
  if (!customerId) return { hosts, rowsOf: async (ids: string[]) => group(await deps.store.instances.list({ hostIds: ids })), skipped: [] as InstanceHealth[] };
  const rows = await one(deps, customerId);
  const hostName = new Map(hosts.map((h) => [h.id, h.name]));
  // Asked about one instance the policy does not own (stopped, provisioning…): say so, contact nobody.
  const skipped = rows.filter((r) => !SWEPT_STATUSES.includes(r.status)).map((r) => unknownOf(r, hostName.get(r.hostId) ?? "?", `the instance is ${r.status}; sweeps leave it alone`));
  const byHost = group(rows);
  return { hosts: hosts.filter((h) => byHost.has(h.id)), rowsOf: async () => byHost, skipped };
}

async function one(deps: Deps, customerId: string): Promise<InstanceRecord[]> {
  const row = await deps.store.instances.get(customerId);
  if (!row || row.status === "destroyed") throw new NotFoundError(`no instance for customer ${customerId}`, "see the instances with `clawfleet list`");
  return [row];
}

interface HostResult {
  /** The sweep stopped before the host answered: nothing was learned or recorded. */
  abandoned?: boolean;
  host: HostHealth;
  instances: InstanceHealth[];
  history: NewHealthCheck[];
  steadyIds: string[];
}

/**
 * One host: its batched command, then the policy. Transitions go as one compare-and-set batch,
 * restarts under leases; history and the steady state's timestamps are left to the caller, which
 * writes them for all hosts at once.
 */
async function sweepHost(deps: Deps, opts: SweepOptions, cfg: PolicyConfig, plans: Plans, owner: string, host: HostRecord, rows: InstanceRecord[]): Promise<HostResult> {
  const started = Date.now();
  const act = opts.act !== false;
  const port = (r: InstanceRecord) => portsForSlot(r.portSlot ?? 0, plans.basePort, plans.portStep).gateway;
  deps.onEvent({ type: "step-start", step: "sweep", host: host.name, at: started });
  const probe = await probeHost(deps, host, rows.map((r) => ({ customerId: r.customerId, gatewayPort: port(r) })), opts.signal).catch(() => null);
  if (!probe) return abandoned(host, rows, started);
  if (act) await hostOutage(deps, opts.alerts ?? noAlerts, host, probe);
  const facts = probe.reachable ? probe.output : null;
  const now = deps.clock.now();
  const seen = rows.map((row) => {
    const obs = observe(row, port(row), probe);
    return { row, obs, d: decide(stateOf(row), obs, now, cfg), base: healthOf(row, host.name, obs, facts, port(row)) };
  });
  const result: HostResult = { host: hostHealth(host, probe, rows.length, started), instances: [], history: [], steadyIds: [] };
  if (!act) {
    result.instances = seen.map((s) => ({ ...s.base, action: "observed" }));
    return result;
  }
  result.history = seen.map(({ row, obs }) => historyRow(row, obs, facts, port(row), probe.observedAt));
  const ctx: ApplyContext | null = probe.reachable
    ? { deps, cfg, owner, leaseTtlMs: opts.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS, alerts: opts.alerts ?? noAlerts, host, shell: probe.shell, signal: opts.signal, afterLease: opts.afterLease }
    : null;
  const quiet = seen.filter((s) => !ctx || s.obs.kind === "unknown" || isSteady(s.row, s.d));
  const restarts = ctx ? seen.filter((s) => !quiet.includes(s) && s.d.action.type === "restart") : [];
  const changes = ctx ? seen.filter((s) => !quiet.includes(s) && s.d.action.type !== "restart") : [];
  result.steadyIds = quiet.filter((s) => s.obs.kind === "healthy" && s.row.status === "healthy").map((s) => s.row.id);
  const applied = new Map<string, Applied>();
  if (ctx) {
    const done = await applyTransitions(ctx, changes);
    changes.forEach((c, i) => applied.set(c.row.customerId, done[i]!));
    const restarted = await Promise.all(restarts.map((s) => applyRestart(ctx, s.row, s.obs, probe.observedAt)));
    restarts.forEach((s, i) => applied.set(s.row.customerId, restarted[i]!));
  }
  result.instances = seen.map(({ row, obs, d, base }) => {
    const a = applied.get(row.customerId);
    if (!a) return { ...base, note: obs.kind === "unknown" || d.action.type !== "none" ? null : d.action.note ?? null };
    return { ...base, action: a.action, note: a.note, instanceStatus: a.state.status, consecutiveFailures: a.state.consecutiveFailures, restarts: a.state.restartCount };
  });
  result.host.durationMs = Date.now() - started;
  if (probe.reachable) deps.onEvent({ type: "step-done", step: "sweep", host: host.name, at: Date.now(), durationMs: result.host.durationMs, detail: `${rows.length} instance(s)` });
  else deps.onEvent({ type: "step-fail", step: "sweep", host: host.name, at: Date.now(), durationMs: result.host.durationMs, detail: probe.error });
  return result;
}

function hostHealth(host: HostRecord, probe: HostProbe, instances: number, started: number): HostHealth {
  return { name: host.name, reachable: probe.reachable, error: probe.reachable ? probe.output.dockerError : probe.error, durationMs: Date.now() - started, instances };
}

function abandoned(host: HostRecord, rows: InstanceRecord[], started: number): HostResult {
  const reason = "the sweep was stopped before this host answered";
  const h: HostHealth = { name: host.name, reachable: true, error: reason, durationMs: Date.now() - started, instances: rows.length };
  return { abandoned: true, host: h, instances: rows.map((r) => unknownOf(r, host.name, reason)), history: [], steadyIds: [] };
}
