import { checkCustomerId } from "../domain/ids.js";
import { NotFoundError, RemoteCommandError } from "../errors.js";
import { inspectInstanceCommand, LABEL_CONFIG_HASH, parseInspect, type InspectReport, type LiveContainer } from "../remote/commands/inspect.js";
import type { RemoteShell } from "../remote/types.js";
import type { HostRecord, InstanceRecord } from "../store/types.js";
import { step } from "./events.js";
import { targetOf } from "./hosts/hosts.js";
import type { Deps } from "./ports.js";

export interface Located {
  row: InstanceRecord;
  host: HostRecord;
}

/** The instance and its host; NotFoundError (exit 3) when missing or destroyed. */
export async function mustGetInstance(deps: Deps, rawId: string): Promise<Located> {
  const customerId = checkCustomerId(rawId, "ID");
  const row = await deps.store.instances.get(customerId);
  if (!row || row.status === "destroyed") {
    throw new NotFoundError(
      row ? `instance ${customerId} was destroyed${row.updatedAt ? " on " + row.updatedAt.toISOString() : ""}` : `no instance for customer ${customerId}`,
      "see the instances with `clawfleet list`",
    );
  }
  const host = await deps.store.hosts.getById(row.hostId);
  if (!host) throw new NotFoundError(`the host of instance ${customerId} is no longer registered`);
  // A snapshot: use cases compare against the row as it was before they changed it.
  return { row: { ...row }, host };
}

export function connect(deps: Deps, host: HostRecord, customerId?: string): Promise<RemoteShell> {
  return step(deps.onEvent, "connect", { host: host.name, customerId }, () => deps.connector.shell(targetOf(host)));
}

/** The instance's containers and files as the host sees them now (one round trip). */
export async function inspectInstance(deps: Deps, shell: RemoteShell, host: HostRecord, customerId: string): Promise<InspectReport> {
  return step(deps.onEvent, "inspect", { host: host.name, customerId, detail: (r) => `${r.containers.length} container(s)` }, async () => {
    const res = await shell.exec(inspectInstanceCommand(host.remoteRoot, customerId), { timeoutMs: 30_000 });
    const report = parseInspect(res.stdout);
    if (report.files === "unknown") {
      throw new RemoteCommandError(host.name, "inspect", `cannot inspect instance ${customerId} on ${host.name}`, { exitCode: res.code, stderrTail: res.stderr.slice(-2000) });
    }
    return report;
  });
}

/** The gateway container of a compose project: the running one if there are several. */
export function mainContainer(containers: LiveContainer[]): LiveContainer | null {
  return containers.find((c) => c.running) ?? containers[0] ?? null;
}

export type ConfigState = "in-sync" | "drifted" | "unknown";

/** In sync when the container's config-hash label is the one recorded in the DB. */
export function configState(row: Pick<InstanceRecord, "configHash">, container: LiveContainer | null): ConfigState {
  const live = container?.labels[LABEL_CONFIG_HASH];
  if (!container || !live || !row.configHash) return "unknown";
  return live === row.configHash ? "in-sync" : "drifted";
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
