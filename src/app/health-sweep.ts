import os from "node:os";
import { randomBytes } from "node:crypto";
import pLimit from "p-limit";
import { decide, type PolicyConfig } from "../domain/health-policy.js";
import { defaultPlansFile, loadPlans, type Plans } from "../domain/plans.js";
import { portsForSlot } from "../domain/ports.js";
import { NotFoundError } from "../errors.js";
import type { NewHealthCheck } from "../store/health-types.js";
import type { HostRecord, InstanceRecord } from "../store/types.js";
import { noAlerts } from "./health-alerts.js";
import { applyRestart, applyTransitions, isSteady, stateOf, SWEPT_STATUSES, type Applied, type ApplyContext } from "./health-apply.js";
import { probeHost, type HostProbe } from "./health-host.js";
import { healthOf, historyRow, observe, unknownOf } from "./health-observe.js";
import { hostOutage } from "./health-outage.js";
import type { HostHealth, InstanceHealth, SweepOptions, SweepReport } from "./health-types.js";
import { LEASE_POLICY } from "./leases/heartbeat.js";
import type { Deps } from "./ports.js";

export const DEFAULT_CONCURRENCY = 32;
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

/** One sweep: every host in parallel (bounded), one batched command each, then the policy per instance. */
export async function healthSweep(deps: Deps, opts: SweepOptions = {}): Promise<SweepReport> {
  const started = Date.now();
  const at = deps.clock.now();
  const plans = await loadPlans(opts.plansFile ?? defaultPlansFile(deps.env));
  const cfg = policyOf(plans, opts.policy);
  const { hosts, byHost, skipped } = await scope(deps, opts.customerId);
  const limit = pLimit(opts.concurrency ?? DEFAULT_CONCURRENCY);
  const owner = opts.owner ?? leaseOwnerId();
  const results = await Promise.all(hosts.map((h) => limit(() => sweepHost(deps, opts, cfg, plans, owner, h, byHost.get(h.id) ?? []))));
  // One write for the whole sweep's history and one for the steady state: two commits, not two per host.
  await deps.store.healthChecks.record(results.flatMap((r) => r.history));
  const steady = results.flatMap((r) => r.steadyIds);
  if (steady.length > 0) await deps.store.healthChecks.touchHealthy(steady, deps.clock.now());
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
  const ok = summary.hostsDown === 0 && summary.healthy === summary.instances;
  return { at: at.toISOString(), durationMs: Date.now() - started, ok, hosts: hostList, instances, summary };
}

async function scope(deps: Deps, customerId?: string) {
  const [hosts, rows] = await Promise.all([deps.store.hosts.list(), customerId ? one(deps, customerId) : deps.store.instances.list()]);
  // A snapshot: the policy compares against what this sweep read, whatever the store hands out.
  const swept = rows.filter((r) => SWEPT_STATUSES.includes(r.status)).map((r) => ({ ...r }));
  const byHost = new Map<string, InstanceRecord[]>();
  for (const r of swept) byHost.set(r.hostId, [...(byHost.get(r.hostId) ?? []), r]);
  const hostName = new Map(hosts.map((h) => [h.id, h.name]));
  // Asked about one instance the policy does not own (stopped, provisioning…): say so, contact nobody.
  const skipped = customerId ? rows.filter((r) => !SWEPT_STATUSES.includes(r.status)).map((r) => unknownOf(r, hostName.get(r.hostId) ?? "?", `the instance is ${r.status}; sweeps leave it alone`)) : [];
  return { hosts: customerId ? hosts.filter((h) => byHost.has(h.id)) : hosts, byHost, skipped };
}

async function one(deps: Deps, customerId: string): Promise<InstanceRecord[]> {
  const row = await deps.store.instances.get(customerId);
  if (!row || row.status === "destroyed") throw new NotFoundError(`no instance for customer ${customerId}`, "see the instances with `clawfleet list`");
  return [row];
}

interface HostResult {
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
  return { host: h, instances: rows.map((r) => unknownOf(r, host.name, reason)), history: [], steadyIds: [] };
}
