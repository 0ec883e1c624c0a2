import { ConflictError } from "../errors.js";
import { describeHolder, type HolderColumns } from "./lease-owner.js";
import type { InstanceRecord } from "./types.js";

// The claim's rules and refusals, shared by the Prisma store and the in-memory fake so both say the same.

/** Statuses that hold a host slot and block a new provision of the same customer. */
export const SETTLED_LIVE = new Set(["healthy", "unhealthy", "stopped", "quarantined"]);

/** Whether a row reserves its memoryMb on its host: anything but destroyed, or failed with its container removed. */
export function usesMemory(row: Pick<InstanceRecord, "status" | "containerLeft">): boolean {
  return row.status !== "destroyed" && !(row.status === "failed" && !row.containerLeft);
}

/** usesMemory as a Prisma filter. */
export const USES_MEMORY = { status: { not: "destroyed" }, NOT: { status: "failed", containerLeft: false } } as const;

/** Whether a provisioning row's live lease blocks a claim: not when it is the lease being taken over. */
export function isLocked(row: Pick<InstanceRecord, "status" | "leaseOwner" | "leaseUntil">, now: Date, takeoverFrom?: string): boolean {
  if (row.status !== "provisioning" || !row.leaseUntil || row.leaseUntil <= now) return false;
  return !(takeoverFrom !== undefined && row.leaseOwner === takeoverFrom);
}

/** Refuses when `needMb` more than the others' `usedMb` exceeds the host's capacity. */
export function assertRoom(hostName: string, needMb: number, usedMb: number, capacityMb: number): void {
  if (usedMb + needMb <= capacityMb) return;
  throw new ConflictError(
    `host ${hostName} has no room for a ${needMb} MB instance: ${Math.max(0, capacityMb - usedMb)} MB free of ${capacityMb} MB`,
    `choose another host, raise its capacity with \`clawfleet hosts set ${hostName} --capacity-mb N\`, or add a host`,
  );
}

export function liveError(row: Pick<InstanceRecord, "customerId" | "plan" | "status">): ConflictError {
  return new ConflictError(
    `customer ${row.customerId} already has a ${row.plan} instance (status ${row.status})`,
    `inspect it with \`clawfleet status ${row.customerId}\`, or change it with \`clawfleet upgrade\``,
  );
}

/** The provision in progress, named with its owner and timing when the row is known. */
export function lockedError(customerId: string, row: HolderColumns | null, now: Date): ConflictError {
  return new ConflictError(
    `customer ${customerId} is being provisioned by ${row?.leaseOwner ? describeHolder(row, now) : "another process"}`,
    `wait for it to finish, then run the command again; if that process is gone for good, run \`clawfleet unlock ${customerId}\``,
  );
}

export function subdomainTaken(subdomain: string, holder: string | null): ConflictError {
  return new ConflictError(`subdomain ${subdomain} is already taken${holder ? ` by customer ${holder}` : ""}`, "choose another with --subdomain NAME");
}

/** Refuses a dedicated plan next to others, or anything next to a dedicated plan. */
export function assertDedication(others: Pick<InstanceRecord, "customerId" | "plan">[], input: { plan: string; dedicated: boolean }): void {
  if (others.length === 0) return;
  const dedicatedOther = others.find((o) => o.plan !== "free");
  if (!input.dedicated && !dedicatedOther) return;
  const who = (dedicatedOther ?? others[0])!;
  throw new ConflictError(
    `host already carries instance ${who.customerId} (${who.plan}); ${input.dedicated ? input.plan + " needs a dedicated host" : "that host is dedicated"}`,
    "choose another host with --host, or add one with `clawfleet hosts add`",
  );
}

export function lowestFree(used: Set<number>): number {
  let slot = 0;
  while (used.has(slot)) slot++;
  return slot;
}

/** A pinned slot (`provision --port`) that another instance on the host holds. */
export function slotTaken(slot: number, holder: string): ConflictError {
  return new ConflictError(`port slot ${slot} is already held by instance ${holder} on that host`, "choose another --port on the slot grid, or leave --port out to take the lowest free slot");
}
