import { NotFoundError } from "../errors.js";
import type { PrismaClient } from "./generated/sqlite/client.js";
import { assertDedication, assertRoom, isLocked, liveError, lockedError, lowestFree, SETTLED_LIVE, slotTaken, subdomainTaken, USES_MEMORY } from "./claim-rules.js";
import { isUniqueViolation } from "./retry.js";
import type { ClaimInput, InstanceRecord } from "./types.js";

type Tx = PrismaClient;

/** One attempt at a claim, in one transaction; the caller retries conflicts. */
export async function claimOnce(db: PrismaClient, input: ClaimInput): Promise<InstanceRecord> {
  try {
    return await db.$transaction(async (t) => {
      const tx = t as unknown as Tx;
      // Write the host row first: on PostgreSQL (read committed) concurrent claims on one host then
      // queue on its row lock and each sees the rows the previous one committed.
      const touched = await tx.host.updateMany({ where: { id: input.hostId }, data: { updatedAt: new Date() } });
      if (touched.count !== 1) throw new NotFoundError(`no host with id ${input.hostId}`, "see the registered hosts with `clawfleet hosts list`");
      const existing = (await tx.instance.findUnique({ where: { customerId: input.customerId } })) as InstanceRecord | null;
      if (existing && SETTLED_LIVE.has(existing.status)) throw liveError(existing);
      if (existing && isLocked(existing, input.now, input.takeoverFrom)) throw lockedError(input.customerId, existing, input.now);
      await assertPlacement(tx, input);
      if (input.subdomain) await assertSubdomainFree(tx, input.customerId, input.subdomain);
      const used = await usedSlots(tx, input.hostId, input.customerId);
      if (input.slot !== undefined && used.has(input.slot)) {
        const holder = await tx.instance.findFirst({ where: { hostId: input.hostId, portSlot: input.slot, customerId: { not: input.customerId } }, select: { customerId: true } });
        throw slotTaken(input.slot, holder?.customerId ?? "another");
      }
      const keep = existing?.hostId === input.hostId && existing.portSlot !== null && !used.has(existing.portSlot);
      const portSlot = input.slot ?? (keep && !input.skipSlots?.includes(existing!.portSlot!) ? existing!.portSlot! : lowestFree(new Set([...used, ...(input.skipSlots ?? [])])));
      const data = {
        hostId: input.hostId,
        plan: input.plan,
        image: input.image,
        status: "provisioning",
        statusReason: null,
        portSlot,
        ...(input.subdomain !== undefined ? { subdomain: input.subdomain } : {}),
        ...(input.needMb !== undefined ? { memoryMb: input.needMb } : {}),
        leaseOwner: input.leaseOwner,
        leaseUntil: new Date(input.now.getTime() + input.leaseMs),
        leaseSince: input.now,
        leaseFence: { increment: 1 },
      };
      const row = existing
        ? await tx.instance.update({ where: { customerId: input.customerId }, data })
        : await tx.instance.create({ data: { ...data, customerId: input.customerId, leaseFence: 1 } });
      return row as InstanceRecord;
    });
  } catch (err) {
    if (isUniqueViolation(err, "customerId")) throw lockedError(input.customerId, await db.instance.findUnique({ where: { customerId: input.customerId } }).catch(() => null), input.now);
    if (input.subdomain && isUniqueViolation(err, "subdomain")) throw subdomainTaken(input.subdomain, null);
    throw err;
  }
}

async function assertPlacement(tx: Tx, input: ClaimInput): Promise<void> {
  const others = await tx.instance.findMany({
    where: { hostId: input.hostId, customerId: { not: input.customerId }, status: { not: "destroyed" } },
    select: { customerId: true, plan: true },
  });
  assertDedication(others, input);
  if (input.capacityMb == null) return;
  const use = await tx.instance.aggregate({
    where: { hostId: input.hostId, customerId: { not: input.customerId }, ...USES_MEMORY },
    _sum: { memoryMb: true },
  });
  const usedMb = use._sum.memoryMb ?? 0;
  if (usedMb + (input.needMb ?? 0) <= input.capacityMb) return;
  const host = await tx.host.findUnique({ where: { id: input.hostId }, select: { name: true } });
  assertRoom(host?.name ?? input.hostId, input.needMb ?? 0, usedMb, input.capacityMb);
}

async function assertSubdomainFree(tx: Tx, customerId: string, subdomain: string): Promise<void> {
  const holder = await tx.instance.findFirst({ where: { subdomain, customerId: { not: customerId } }, select: { customerId: true } });
  if (holder) throw subdomainTaken(subdomain, holder.customerId);
}

export async function usedSlots(db: Tx, hostId: string, exceptCustomer: string): Promise<Set<number>> {
  const rows = await db.instance.findMany({
    where: { hostId, customerId: { not: exceptCustomer }, portSlot: { not: null } },
    select: { portSlot: true },
  });
  return new Set(rows.map((r) => r.portSlot!));
}
