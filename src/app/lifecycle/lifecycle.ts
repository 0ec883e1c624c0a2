import { ConflictError, RemoteCommandError } from "../../errors.js";
import { toSeconds } from "../../domain/sizes.js";
import { EXIT_LOCKED, EXIT_NO_FILES, restartInstanceCommand, startInstanceCommand, stopInstanceCommand } from "../../remote/commands/lifecycle.js";
import type { ExecResult, RemoteShell } from "../../remote/types.js";
import type { HostRecord, InstanceRecord, InstanceStatus } from "../../store/types.js";
import { step, type StepName } from "../events.js";
import { audit } from "../audit/record.js";
import { connect, messageOf, mustGetInstance } from "../instance-lookup.js";
import { loadPlansFor, getPlan } from "../../domain/plans.js";
import { portsForSlot } from "../../domain/ports.js";
import { withRunSlot } from "../coordination/runs/gate.js";
import { withInstanceLease } from "../coordination/leases/instance.js";
import type { Deps } from "../ports.js";

export interface LifecycleResult {
  customerId: string;
  host: string;
  action: "stop" | "start" | "restart";
  status: InstanceStatus;
  /** False when the instance already was in the requested state. */
  changed: boolean;
  /**
   * "healthy" once ready: running, /healthz answering 200, and Docker's health not unhealthy (as a
   * health sweep judges it); otherwise Docker's health or state when the command gave up.
   */
  state: string;
  /** Docker's own health (or state) when the command finished: often still "starting" just after a start. */
  dockerHealth: string;
}

const GRACE_MS = 60_000;
/** Statuses with nothing on the host to act on yet. */
const NOT_ACTIONABLE = new Set<InstanceStatus>(["provisioning", "failed"]);

/**
 * Stops the container and keeps its data. The DB says "stopped" before the container stops, so a
 * health sweep running meanwhile never mistakes the stop for a failure and restarts it.
 */
export async function stopInstance(deps: Deps, customerId: string): Promise<LifecycleResult> {
  const { row, host } = await actionable(deps, customerId, "stop");
  return withInstanceLease(deps, row, "stop", () => withRunSlot(deps, host, row.customerId, "stop", () => stopLeased(deps, row, host)));
}

async function stopLeased(deps: Deps, row: InstanceRecord, host: HostRecord): Promise<LifecycleResult> {
  const shell = await connect(deps, host, row.customerId);
  await deps.store.instances.update(row.customerId, { status: "stopped", statusReason: `stopped by ${deps.actor}`, consecutiveFailures: 0 });
  try {
    await runLifecycle(deps, shell, host, row.customerId, "stop", stopInstanceCommand(host.remoteRoot, row.customerId), 60_000);
  } catch (err) {
    await deps.store.instances.update(row.customerId, { status: row.status, statusReason: row.statusReason });
    await audit(deps, "instance.stop", row.customerId, "failed", messageOf(err).slice(0, 500));
    throw err;
  }
  await audit(deps, "instance.stop", row.customerId, "ok", row.status === "stopped" ? "already stopped" : `was ${row.status}`);
  return { customerId: row.customerId, host: host.name, action: "stop", status: "stopped", changed: row.status !== "stopped", state: "stopped", dockerHealth: "exited" };
}

/** Starts a stopped instance and waits until it is healthy. */
export function startInstance(deps: Deps, customerId: string, opts: { plansFile?: string } = {}): Promise<LifecycleResult> {
  return bringUp(deps, customerId, "start", opts.plansFile);
}

/** Restarts the container (or re-creates it when gone) and waits until it is healthy. */
export function restartInstance(deps: Deps, customerId: string, opts: { plansFile?: string } = {}): Promise<LifecycleResult> {
  return bringUp(deps, customerId, "restart", opts.plansFile);
}

async function bringUp(deps: Deps, customerId: string, action: "start" | "restart", plansFile?: string): Promise<LifecycleResult> {
  const { row, host } = await actionable(deps, customerId, action);
  const plans = await loadPlansFor(deps, plansFile);
  const timeoutSec = toSeconds(getPlan(plans, row.plan, "plan").healthTimeoutMs);
  const gatewayPort = portsForSlot(row.portSlot ?? 0, plans.basePort, plans.portStep).gateway;
  return withInstanceLease(deps, row, action, () => withRunSlot(deps, host, row.customerId, action, () => bringUpLeased(deps, row, host, action, gatewayPort, timeoutSec)));
}

async function bringUpLeased(deps: Deps, row: InstanceRecord, host: HostRecord, action: "start" | "restart", gatewayPort: number, timeoutSec: number): Promise<LifecycleResult> {
  const shell = await connect(deps, host, row.customerId);
  const build = action === "start" ? startInstanceCommand : restartInstanceCommand;
  const command = build(host.remoteRoot, row.customerId, gatewayPort, timeoutSec);
  let res: ExecResult;
  try {
    res = await runLifecycle(deps, shell, host, row.customerId, action, command, timeoutSec * 1000 + GRACE_MS, true);
  } catch (err) {
    await audit(deps, `instance.${action}`, row.customerId, "failed", messageOf(err).slice(0, 500));
    throw err;
  }
  const state = /^state=(\S+)$/m.exec(res.stdout)?.[1] ?? "unknown";
  const dockerHealth = /^docker=(\S+)$/m.exec(res.stdout)?.[1] ?? state;
  if (res.code !== 0) {
    const reason = `not healthy within ${timeoutSec}s after ${action} (state ${state})`;
    await deps.store.instances.update(row.customerId, { status: "unhealthy", statusReason: reason });
    await audit(deps, `instance.${action}`, row.customerId, "failed", reason);
    throw new RemoteCommandError(host.name, action, `instance ${row.customerId} on ${host.name}: ${reason}`, {
      exitCode: res.code,
      stderrTail: res.stderr.slice(-2000),
      hint: `see its logs with \`clawfleet logs ${row.customerId} --tail 100\``,
    });
  }
  await deps.store.instances.update(row.customerId, { status: "healthy", statusReason: null, consecutiveFailures: 0 });
  await audit(deps, `instance.${action}`, row.customerId, "ok", `was ${row.status}; now healthy`);
  return { customerId: row.customerId, host: host.name, action, status: "healthy", changed: action === "restart" || row.status !== "healthy", state, dockerHealth };
}

async function actionable(deps: Deps, customerId: string, action: string): Promise<{ row: InstanceRecord; host: HostRecord }> {
  const found = await mustGetInstance(deps, customerId);
  if (NOT_ACTIONABLE.has(found.row.status)) {
    throw new ConflictError(
      `cannot ${action} ${found.row.customerId}: its status is ${found.row.status}`,
      `finish or retry its provision first (\`clawfleet provision --customer-id ${found.row.customerId} …\`)`,
    );
  }
  return found;
}

/** Runs a lifecycle script; lock and missing-files exits become typed errors, other exits are returned when `allowFail`. */
async function runLifecycle(deps: Deps, shell: RemoteShell, host: HostRecord, customerId: string, name: StepName & ("stop" | "start" | "restart"), command: string, timeoutMs: number, allowFail = false): Promise<ExecResult> {
  const res = await step(deps.onEvent, name, { host: host.name, customerId }, () => shell.exec(command, { timeoutMs }));
  if (res.code === EXIT_LOCKED) throw new ConflictError(`instance ${customerId} is locked on ${host.name} by another clawfleet run`, "wait for it to finish, then run the command again");
  if (res.code === EXIT_NO_FILES) {
    throw new RemoteCommandError(host.name, name, `the files of instance ${customerId} are missing on ${host.name}`, { exitCode: res.code, hint: "re-create them with `clawfleet reconcile --fix`" });
  }
  if (res.code !== 0 && (!allowFail || res.timedOut || !/^state=/m.test(res.stdout))) {
    throw new RemoteCommandError(host.name, name, `${name} of ${customerId} failed on ${host.name}${res.timedOut ? " (timed out)" : ""}`, { exitCode: res.code, stderrTail: res.stderr.slice(-2000) });
  }
  return res;
}
