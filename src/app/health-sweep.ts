import os from "node:os";
import { randomBytes } from "node:crypto";
import pLimit from "p-limit";
import { classify } from "../domain/health-classify.js";
import { decide, type Observation, type PolicyConfig } from "../domain/health-policy.js";
import { defaultPlansFile, loadPlans, type Plans } from "../domain/plans.js";
import { portsForSlot } from "../domain/ports.js";
import { NotFoundError } from "../errors.js";
import type { SweepOutput } from "../remote/commands/health.js";
import type { NewHealthCheck } from "../store/health-types.js";
import type { HostRecord, InstanceRecord } from "../store/types.js";
import { noAlerts } from "./health-alerts.js";
import { applyUnderLease, isSteady, stateOf, SWEPT_STATUSES, type ApplyContext } from "./health-apply.js";
import { probeHost } from "./health-host.js";
import { hostOutage } from "./health-outage.js";
import type { HostHealth, InstanceHealth, SweepOptions, SweepReport } from "./health-types.js";
import type { Deps } from "./ports.js";

export const DEFAULT_CONCURRENCY = 32;
export const DEFAULT_LEASE_TTL_MS = 3 * 60_000;

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
  const swept = rows.filter((r) => SWEPT_STATUSES.includes(r.status));
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

async function sweepHost(deps: Deps, opts: SweepOptions, cfg: PolicyConfig, plans: Plans, owner: string, host: HostRecord, rows: InstanceRecord[]) {
  const started = Date.now();
  const act = opts.act !== false;
  const port = (r: InstanceRecord) => portsForSlot(r.portSlot ?? 0, plans.basePort, plans.portStep).gateway;
  deps.onEvent({ type: "step-start", step: "sweep", host: host.name, at: started });
  const probe = await probeHost(deps, host, rows.map((r) => ({ customerId: r.customerId, gatewayPort: port(r) })), opts.signal).catch(() => null);
  if (!probe) return abandoned(host, rows, started);
  if (act) await hostOutage(deps, opts.alerts ?? noAlerts, host, probe);
  const observed = rows.map((r) => ({ row: r, obs: observe(r, port(r), probe), facts: probe.reachable ? probe.output : null }));
  if (act) await deps.store.healthChecks.record(observed.map(({ row, obs, facts }) => historyRow(row, obs, facts, port(row), probe.observedAt)));
  const ctx: ApplyContext | null = act && probe.reachable
    ? { deps, cfg, owner, leaseTtlMs: opts.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS, alerts: opts.alerts ?? noAlerts, host, shell: probe.shell, signal: opts.signal, afterLease: opts.afterLease }
    : null;
  const steadyIds: string[] = [];
  const instances = await Promise.all(
    observed.map(async ({ row, obs, facts }): Promise<InstanceHealth> => {
      const base = healthOf(row, host.name, obs, facts, port(row));
      if (!act) return { ...base, action: "observed" };
      const preview = decide(stateOf(row), obs, deps.clock.now(), cfg);
      if (!ctx || obs.kind === "unknown" || isSteady(row, preview)) {
        if (obs.kind === "healthy" && row.status === "healthy") steadyIds.push(row.id);
        return { ...base, note: obs.kind === "unknown" ? null : preview.action.type === "none" ? preview.action.note ?? null : null };
      }
      const applied = await applyUnderLease(ctx, row, obs, probe.observedAt);
      return { ...base, action: applied.action, note: applied.note, instanceStatus: applied.state.status, consecutiveFailures: applied.state.consecutiveFailures, restarts: applied.state.restartCount };
    }),
  );
  if (act && steadyIds.length > 0) await deps.store.healthChecks.touchHealthy(steadyIds, deps.clock.now());
  const durationMs = Date.now() - started;
  const error = probe.reachable ? probe.output.dockerError : probe.error;
  if (probe.reachable) deps.onEvent({ type: "step-done", step: "sweep", host: host.name, at: Date.now(), durationMs, detail: `${rows.length} instance(s)` });
  else deps.onEvent({ type: "step-fail", step: "sweep", host: host.name, at: Date.now(), durationMs, detail: probe.error });
  const hostHealth: HostHealth = { name: host.name, reachable: probe.reachable, error, durationMs, instances: rows.length };
  return { host: hostHealth, instances };
}

function observe(row: InstanceRecord, port: number, probe: Awaited<ReturnType<typeof probeHost>>): Observation {
  if (!probe.reachable) return { kind: "unknown", reason: `host unreachable: ${probe.error}` };
  if (row.portSlot === null) return { kind: "unknown", reason: "the instance has no port slot" };
  const o = probe.output;
  const c = o.containers.get(row.customerId);
  return classify(`cf-${row.customerId}`, port, {
    container: c, missing: o.missing.has(row.customerId), probe: o.probes.get(port),
    dockerError: o.dockerError, noProbeTool: o.noProbeTool, complete: o.complete,
  });
}

function healthOf(row: InstanceRecord, host: string, obs: Observation, facts: SweepOutput | null, port: number): InstanceHealth {
  const c = facts?.containers.get(row.customerId);
  return {
    customerId: row.customerId, host, status: obs.kind, reason: obs.kind === "healthy" ? null : obs.reason,
    latencyMs: obs.kind === "healthy" ? facts?.probes.get(port)?.latencyMs ?? null : null,
    container: c ? { state: c.state, dockerHealth: c.dockerHealth, restartCount: c.restartCount, startedAt: c.startedAt } : null,
    action: "none", note: null, instanceStatus: row.status, consecutiveFailures: row.consecutiveFailures, restarts: row.restartCount,
  };
}

function historyRow(row: InstanceRecord, obs: Observation, facts: SweepOutput | null, port: number, at: Date): NewHealthCheck {
  const latency = facts?.probes.get(port)?.latencyMs ?? null;
  return { instanceId: row.id, at, ok: obs.kind === "healthy", status: obs.kind, latencyMs: latency, detail: obs.kind === "healthy" ? null : obs.reason.slice(0, 500) };
}

function unknownOf(row: InstanceRecord, host: string, reason: string): InstanceHealth {
  return healthOf(row, host, { kind: "unknown", reason }, null, 0);
}

function abandoned(host: HostRecord, rows: InstanceRecord[], started: number) {
  const reason = "the sweep was stopped before this host answered";
  return { host: { name: host.name, reachable: true, error: reason, durationMs: Date.now() - started, instances: rows.length } satisfies HostHealth, instances: rows.map((r) => unknownOf(r, host.name, reason)) };
}
