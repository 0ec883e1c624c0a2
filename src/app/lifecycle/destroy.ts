import { InputError, RemoteCommandError } from "../../errors.js";
import { destroyCommand, destroyTargets, parseDestroy } from "../../remote/commands/lifecycle.js";
import { reloadFailed } from "../../remote/commands/ingress.js";
import type { HostRecord, InstanceRecord, InstanceStatus } from "../../store/types.js";
import { withRunSlot } from "../coordination/runs/gate.js";
import { LIVE_STATUSES, withInstanceLease } from "../coordination/leases/instance.js";
import { step } from "../events.js";
import { audit } from "../audit/record.js";
import { connect, messageOf, mustGetInstance } from "../instance-lookup.js";
import type { Deps } from "../ports.js";

export interface DestroyInput {
  customerId: string;
  /** Required: without it nothing is removed and InputError lists what would be. */
  force?: boolean;
  keepData?: boolean;
  /** Why, for the Event (e.g. "expired"). */
  reason?: string;
  /** Also delete the customer's backup files and rows; by default they are kept. */
  purgeBackups?: boolean;
  /** Repeating a call with the same key returns the first outcome (library callers, e.g. a billing API). */
  idempotencyKey?: string;
}

export interface DestroyResult {
  customerId: string;
  host: string;
  removed: string[];
  keptData: boolean;
  freedSlot: number | null;
  /** The customer's good backups left on the control machine, and how many were purged. */
  backups: { kept: number; purged: number };
}

/**
 * Removes the containers, network, instance directory and (unless keepData) the data volume, then
 * marks the row destroyed with no port slot, so the slot is free and the row stays for audit.
 */
export async function destroyInstance(deps: Deps, input: DestroyInput): Promise<DestroyResult> {
  const { row, host } = await mustGetInstance(deps, input.customerId);
  const keepData = Boolean(input.keepData);
  const removed = whatGoes(host, row, keepData);
  if (!input.force) {
    throw new InputError(
      `refusing to destroy ${row.customerId} without --force; it would remove:\n  ${removed.join("\n  ")}${keepData ? `\n  (volume cf-${row.customerId}-data is kept: --keep-data)` : ""}`,
      `run \`clawfleet destroy ${row.customerId} --force${keepData ? " --keep-data" : ""}\`${keepData ? "" : ", or add --keep-data to keep the data volume"}`,
    );
  }
  // A provision in progress holds the lease: withInstanceLease refuses, naming it (or takes over a dead one).
  const statuses: InstanceStatus[] = [...LIVE_STATUSES, "failed", "provisioning"];
  return withInstanceLease(deps, row, "destroy", () => withRunSlot(deps, host, row.customerId, "destroy", () => destroyLeased(deps, row, host, input, removed)), statuses);
}

async function destroyLeased(deps: Deps, row: InstanceRecord, host: HostRecord, input: DestroyInput, removed: string[]): Promise<DestroyResult> {
  const keepData = Boolean(input.keepData);
  try {
    const shell = await connect(deps, host, row.customerId);
    await step(deps.onEvent, "destroy", { host: host.name, customerId: row.customerId }, async () => {
      const res = await shell.exec(destroyCommand(host.remoteRoot, row.customerId, keepData), { timeoutMs: 120_000 });
      const left = parseDestroy(res.stdout);
      const leftovers = left ? Object.entries(left).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`) : ["(no report)"];
      if (reloadFailed(res.stdout)) leftovers.push("its site in the proxy's running config (the reload failed)");
      if (res.code !== 0 || leftovers.length > 0) {
        throw new RemoteCommandError(host.name, "destroy", `destroy of ${row.customerId} on ${host.name} left ${leftovers.join(", ")} behind`, {
          exitCode: res.code,
          stderrTail: res.stderr.slice(-2000),
          hint: "the DB row is unchanged; fix the cause and run destroy again",
        });
      }
    });
  } catch (err) {
    await audit(deps, "instance.destroy", row.customerId, "failed", messageOf(err).slice(0, 500));
    throw err;
  }
  await deps.store.instances.update(row.customerId, {
    status: "destroyed",
    statusReason: input.reason ?? `destroyed by ${deps.actor}`,
    portSlot: null,
    tokenHash: null,
    // Free the name: another customer may take it once this site is gone.
    subdomain: null,
    consecutiveFailures: 0,
  });
  await audit(deps, "instance.destroy", row.customerId, "ok", `${input.reason ? input.reason + "; " : ""}on ${host.name}, freed slot ${row.portSlot}${keepData ? ", kept volume cf-" + row.customerId + "-data" : ""}`);
  const { countKept, purgeBackups } = await import("../backup/catalog.js");
  const backups = input.purgeBackups ? { kept: 0, purged: await purgeBackups(deps, row.customerId) } : { kept: await countKept(deps, row.customerId), purged: 0 };
  return { customerId: row.customerId, host: host.name, removed, keptData: keepData, freedSlot: row.portSlot, backups };
}

function whatGoes(host: HostRecord, row: InstanceRecord, keepData: boolean): string[] {
  const t = destroyTargets(host.remoteRoot, row.customerId, keepData);
  return [
    `container ${t.container} (compose project ${t.project}) on ${host.name}`,
    `network ${t.network}`,
    ...(t.volume ? [`volume ${t.volume} (the customer's data)`] : []),
    `directory ${t.dir} (compose file, .env, provision.sh)`,
    ...(row.subdomain ? [`site ${t.site} (the public name ${row.subdomain} is no longer served)`] : []),
    `port slot ${row.portSlot ?? "none"} (freed for the next provision)`,
  ];
}
