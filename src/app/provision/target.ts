import { ConflictError } from "../../errors.js";
import type { PlanSpec } from "../../domain/plans.js";
import type { HostRecord, InstanceRecord } from "../../store/types.js";
import { mustGetHost } from "../hosts/hosts.js";
import type { Deps } from "../ports.js";
import { hostCapacity, planMemoryMb, reserveMb } from "../hosts/capacity.js";
import { pickHost } from "../hosts/pick.js";

export interface Target {
  host: HostRecord;
  needMb: number;
  capacityMb: number | null;
  /** The row a crashed or failed provision left, which this one resumes. */
  resumes: InstanceRecord | null;
}

/** Rows whose host may still hold a half-done install: a re-run must finish it there. */
function pinnedToItsHost(row: InstanceRecord | null): row is InstanceRecord {
  return !!row && (row.status === "provisioning" || (row.status === "failed" && row.containerLeft === true));
}

/**
 * Where a provision goes: the host of the install it resumes, else `--host`, else the host with
 * the most room. An interrupted install is finished where it started, so no container is left
 * behind on another host.
 */
export async function chooseTarget(deps: Deps, customerId: string, spec: PlanSpec, hostName: string | undefined): Promise<Target> {
  const existing = await deps.store.instances.get(customerId);
  const needMb = planMemoryMb(spec);
  let host: HostRecord;
  if (pinnedToItsHost(existing)) {
    const at = await deps.store.hosts.getById(existing.hostId);
    if (at && hostName && hostName !== at.name) {
      throw new ConflictError(
        `customer ${customerId} has an unfinished install on ${at.name} (status ${existing.status})`,
        `run the provision again without --host (or with --host ${at.name}) to finish it there, or remove it first with \`clawfleet destroy ${customerId} --force\``,
      );
    }
    host = at ?? (hostName ? await mustGetHost(deps, hostName) : await pickHost(deps, spec.dedicatedHost, needMb));
  } else {
    host = hostName ? await mustGetHost(deps, hostName) : await pickHost(deps, spec.dedicatedHost, needMb);
    if (host.status === "drained") {
      throw new ConflictError(`host ${host.name} is drained: it takes no new instances`, `choose another host, or undrain it with \`clawfleet hosts set ${host.name} --undrain\``);
    }
  }
  const { capacityMb } = hostCapacity(host, reserveMb(deps.env));
  return { host, needMb, capacityMb, resumes: existing && existing.status !== "destroyed" ? existing : null };
}
