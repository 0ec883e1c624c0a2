import { HostKeyError } from "../../errors.js";
import { parseSweep, sweepScript, PROBE_TIMEOUT_S, type SweepOutput, type SweepTarget } from "../../remote/commands/health.js";
import type { RemoteShell } from "../../remote/types.js";
import type { HostRecord } from "../../store/types.js";
import { targetOf } from "../hosts/hosts.js";
import { audit } from "../audit/record.js";
import type { Deps } from "../ports.js";

export type HostProbe =
  | { reachable: true; shell: RemoteShell; output: SweepOutput; observedAt: Date }
  | { reachable: false; error: string; observedAt: Date };

/** Docker inspect plus parallel probes; generous, as a loaded host may be slow to fork. */
export const SWEEP_TIMEOUT_MS = (PROBE_TIMEOUT_S + 25) * 1000;

/**
 * Runs the sweep command on one host over its pooled connection. A connection that died since the
 * last sweep is replaced once; only a second failure makes the host unreachable.
 */
export async function probeHost(deps: Deps, host: HostRecord, targets: SweepTarget[], signal?: AbortSignal): Promise<HostProbe> {
  const command = sweepScript(targets);
  const observedAt = deps.clock.now();
  let lastError = "";
  for (let attempt = 0; attempt < 2; attempt++) {
    signal?.throwIfAborted();
    let shell: RemoteShell;
    try {
      shell = await deps.connector.shell(targetOf(host));
    } catch (err) {
      // Once per outage: the host-down alert repeats the reason, so later sweeps stay quiet.
      if (err instanceof HostKeyError && !host.downSince) await audit(deps, "host.key-refused", host.name, "refused", err.message);
      // A fresh connect that fails is final: retrying would only double the wait.
      return { reachable: false, error: messageOf(err), observedAt };
    }
    try {
      const res = await shell.exec(command, { timeoutMs: SWEEP_TIMEOUT_MS, signal });
      if (res.timedOut) return { reachable: false, error: `the sweep command timed out after ${SWEEP_TIMEOUT_MS / 1000} s`, observedAt };
      return { reachable: true, shell, output: parseSweep(res.stdout), observedAt };
    } catch (err) {
      signal?.throwIfAborted();
      lastError = messageOf(err);
      deps.connector.forget(host.name);
    }
  }
  return { reachable: false, error: lastError, observedAt };
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
