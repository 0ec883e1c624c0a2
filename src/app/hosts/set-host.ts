import { z } from "zod";
import { InputError } from "../../errors.js";
import type { HostRecord } from "../../store/types.js";
import { mustGetHost } from "./hosts.js";
import { audit } from "../audit/record.js";
import { parseInput } from "../../domain/input.js";
import type { Deps } from "../ports.js";
import { hostRooms, type HostRoom } from "./pick.js";

const SetHostInput = z.object({
  capacityMb: z.number().int().positive().optional(),
  shared: z.boolean().optional(),
  drain: z.boolean().optional(),
});
export type SetHostInput = z.input<typeof SetHostInput>;

export interface SetHostResult {
  host: HostRecord;
  room: HostRoom;
  changed: string[];
  warnings: string[];
}

/** Changes where new instances may go. Live instances stay where they are. */
export async function setHost(deps: Deps, name: string, raw: SetHostInput): Promise<SetHostResult> {
  const input = parseInput(SetHostInput, raw);
  const host = await mustGetHost(deps, name);
  const patch: Partial<HostRecord> = {};
  const changed: string[] = [];
  if (input.capacityMb !== undefined && input.capacityMb !== host.capacityMb) {
    patch.capacityMb = input.capacityMb;
    changed.push(`capacity ${host.capacityMb ?? "auto"} -> ${input.capacityMb} MB`);
  }
  if (input.shared !== undefined && input.shared !== host.shared) {
    patch.shared = input.shared;
    changed.push(input.shared ? "now shared" : "now dedicated");
  }
  if (input.drain !== undefined) {
    const status = input.drain ? "drained" : "active";
    if (status !== host.status) {
      patch.status = status;
      changed.push(input.drain ? "drained: takes no new instances" : "undrained: takes new instances again");
    }
  }
  if (input.capacityMb === undefined && input.shared === undefined && input.drain === undefined) {
    throw new InputError("nothing to change", "give --capacity-mb N, --shared/--no-shared or --drain/--undrain");
  }
  const updated = changed.length ? await deps.store.hosts.update(name, patch) : host;
  const [room] = await hostRooms(deps, [updated]);
  const warnings: string[] = [];
  if (room!.capacityMb !== null && room!.usedMb > room!.capacityMb) {
    warnings.push(`${name}'s live instances already reserve ${room!.usedMb} MB, more than ${room!.capacityMb} MB: none is moved, and it takes no new instance until there is room`);
  }
  if (patch.shared === false && room!.instances > 1) warnings.push(`${name} now counts as dedicated but carries ${room!.instances} instances`);
  if (changed.length) await audit(deps, "host.set", name, "ok", changed.join("; "));
  return { host: updated, room: room!, changed, warnings };
}
