import { classify } from "../../domain/health-classify.js";
import type { Observation } from "../../domain/health-policy.js";
import type { SweepOutput } from "../../remote/commands/health.js";
import type { NewHealthCheck } from "../../store/health-types.js";
import type { InstanceRecord } from "../../store/types.js";
import type { HostProbe } from "./host.js";
import type { InstanceHealth } from "./types.js";

/** What one host's answer says about one of its instances. */
export function observe(row: InstanceRecord, port: number, probe: HostProbe): Observation {
  if (!probe.reachable) return { kind: "unknown", reason: `host unreachable: ${probe.error}` };
  if (row.portSlot === null) return { kind: "unknown", reason: "the instance has no port slot" };
  const o = probe.output;
  return classify(`cf-${row.customerId}`, port, {
    container: o.containers.get(row.customerId), missing: o.missing.has(row.customerId), probe: o.probes.get(port),
    dockerError: o.dockerError, noProbeTool: o.noProbeTool, complete: o.complete,
  });
}

export function healthOf(row: InstanceRecord, host: string, obs: Observation, facts: SweepOutput | null, port: number): InstanceHealth {
  const c = facts?.containers.get(row.customerId);
  return {
    customerId: row.customerId, host, status: obs.kind, reason: obs.kind === "healthy" ? null : obs.reason,
    latencyMs: obs.kind === "healthy" ? facts?.probes.get(port)?.latencyMs ?? null : null,
    container: c ? { state: c.state, dockerHealth: c.dockerHealth, restartCount: c.restartCount, startedAt: c.startedAt } : null,
    action: "none", note: null, instanceStatus: row.status, consecutiveFailures: row.consecutiveFailures, restarts: row.restartCount,
  };
}

export function historyRow(row: InstanceRecord, obs: Observation, facts: SweepOutput | null, port: number, at: Date): NewHealthCheck {
  const latency = facts?.probes.get(port)?.latencyMs ?? null;
  return { instanceId: row.id, at, ok: obs.kind === "healthy", status: obs.kind, latencyMs: latency, detail: obs.kind === "healthy" ? null : obs.reason.slice(0, 500) };
}

export function unknownOf(row: InstanceRecord, host: string, reason: string): InstanceHealth {
  return healthOf(row, host, { kind: "unknown", reason }, null, 0);
}
