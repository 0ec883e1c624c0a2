import { ConflictError, NotFoundError } from "../../errors.js";
import type { HostRecord } from "../../store/types.js";
import type { Deps } from "../ports.js";
import { hostCapacity, reserveMb } from "./capacity.js";

export interface HostRoom {
  host: HostRecord;
  usedMb: number;
  instances: number;
  capacityMb: number | null;
  /** capacity − used; Infinity when the capacity is unknown. */
  freeMb: number;
}

/** Every host with what its live instances reserve, for placement and `hosts list`. */
export async function hostRooms(deps: Deps, hosts?: HostRecord[]): Promise<HostRoom[]> {
  const [all, usage] = await Promise.all([hosts ?? deps.store.hosts.list(), deps.store.instances.usage()]);
  const reserve = reserveMb(deps.env);
  return all.map((host) => {
    const u = usage.get(host.id) ?? { usedMb: 0, count: 0 };
    const { capacityMb } = hostCapacity(host, reserve);
    return { host, usedMb: u.usedMb, instances: u.count, capacityMb, freeMb: capacityMb === null ? Infinity : capacityMb - u.usedMb };
  });
}

/**
 * Without --host: free goes to the shared host with the most room, pro/enterprise to an empty
 * dedicated host that can hold the plan. Drained hosts take nothing new. The claim re-checks the
 * room in its transaction, so two racing provisions never overcommit a host.
 */
export async function pickHost(deps: Deps, dedicated: boolean, needMb: number): Promise<HostRecord> {
  const pool = (await deps.store.hosts.list()).filter((h) => h.shared !== dedicated);
  const open = pool.filter((h) => h.status === "active");
  if (open.length === 0) {
    const kind = dedicated ? "dedicated (non-shared)" : "shared";
    if (pool.length > 0) throw new ConflictError(`every ${kind} host is drained (${pool.map((h) => h.name).join(", ")})`, "undrain one with `clawfleet hosts set NAME --undrain`, or add a host");
    throw new NotFoundError(
      dedicated ? "no dedicated (non-shared) host is registered" : "no shared host is registered for free instances",
      dedicated ? "add one with `clawfleet hosts add NAME --ssh USER@ADDR …`, or name one with --host" : "add one with `clawfleet hosts add NAME --ssh USER@ADDR --shared …`",
    );
  }
  const rooms = await hostRooms(deps, open);
  const eligible = rooms.filter((r) => !dedicated || r.instances === 0);
  if (eligible.length === 0) {
    throw new ConflictError("every dedicated host already carries an instance", "add a host with `clawfleet hosts add`, then provision again");
  }
  const byRoom = [...eligible].sort((a, b) => b.freeMb - a.freeMb || a.instances - b.instances || a.host.name.localeCompare(b.host.name));
  const best = byRoom[0]!;
  if (best.freeMb < needMb) throw noRoom(needMb, best, dedicated);
  return best.host;
}

export function noRoom(needMb: number, best: HostRoom, dedicated: boolean): ConflictError {
  return new ConflictError(
    `no ${dedicated ? "dedicated" : "shared"} host has room for a ${needMb} MB instance: the best, ${best.host.name}, has ${Math.max(0, best.freeMb)} MB free of ${best.capacityMb} MB`,
    `add a host, raise a capacity with \`clawfleet hosts set ${best.host.name} --capacity-mb N\`, or destroy unused instances`,
  );
}
