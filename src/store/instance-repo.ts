import { ConflictError, NotFoundError } from "../errors.js";
import type { PrismaClient } from "./generated/sqlite/client.js";
import type { ClaimInput, InstancePatch, InstanceRecord, InstanceRepo } from "./types.js";
import { isRetryable, isUniqueViolation, withRetry } from "./retry.js";

/** Statuses that hold a host slot and block a new provision of the same customer. */
const SETTLED_LIVE = new Set(["healthy", "unhealthy", "stopped", "quarantined"]);

export function instanceRepo(db: PrismaClient): InstanceRepo {
  const repo: InstanceRepo = {
    async get(customerId) {
      return (await db.instance.findUnique({ where: { customerId } })) as InstanceRecord | null;
    },
    async list(filter = {}) {
      const rows = await db.instance.findMany({
        where: {
          hostId: filter.hostId,
          plan: filter.plan,
          ...(filter.includeDestroyed ? {} : { status: { not: "destroyed" } }),
        },
        orderBy: { customerId: "asc" },
      });
      return rows as InstanceRecord[];
    },
    async countLive(hostId) {
      return db.instance.count({ where: { hostId, status: { notIn: ["destroyed"] } } });
    },
    claim: (input) => withRetry(() => claimOnce(db, input)),
    reslot: (customerId, skip) =>
      withRetry(async () => {
        const row = await repo.get(customerId);
        if (!row) throw new NotFoundError(`no instance for customer ${customerId}`);
        const used = await usedSlots(db, row.hostId, customerId);
        const portSlot = lowestFree(new Set([...used, ...skip]));
        return (await db.instance.update({ where: { customerId }, data: { portSlot } })) as InstanceRecord;
      }),
    async update(customerId, patch) {
      return (await db.instance.update({ where: { customerId }, data: patch as object })) as InstanceRecord;
    },
  };
  return repo;
}

async function claimOnce(db: PrismaClient, input: ClaimInput): Promise<InstanceRecord> {
  try {
    return await db.$transaction(async (tx) => {
      const existing = await tx.instance.findUnique({ where: { customerId: input.customerId } });
      if (existing) assertClaimable(existing as InstanceRecord, input.now);
      await assertPlacement(tx as unknown as PrismaClient, input);
      if (input.subdomain) await assertSubdomainFree(tx as unknown as PrismaClient, input.customerId, input.subdomain);
      const used = await usedSlots(tx as unknown as PrismaClient, input.hostId, input.customerId);
      const keep = existing?.hostId === input.hostId && existing.portSlot !== null && !used.has(existing.portSlot);
      const portSlot = keep && !input.skipSlots?.includes(existing!.portSlot!) ? existing!.portSlot! : lowestFree(new Set([...used, ...(input.skipSlots ?? [])]));
      const data = {
        hostId: input.hostId,
        plan: input.plan,
        image: input.image,
        status: "provisioning",
        statusReason: null,
        portSlot,
        ...(input.subdomain !== undefined ? { subdomain: input.subdomain } : {}),
        leaseOwner: input.leaseOwner,
        leaseUntil: new Date(input.now.getTime() + input.leaseMs),
        leaseFence: { increment: 1 },
      };
      const row = existing
        ? await tx.instance.update({ where: { customerId: input.customerId }, data })
        : await tx.instance.create({ data: { ...data, customerId: input.customerId, leaseFence: 1 } });
      return row as InstanceRecord;
    });
  } catch (err) {
    if (isUniqueViolation(err, "customerId")) throw lockedError(input.customerId);
    if (input.subdomain && isUniqueViolation(err, "subdomain")) throw subdomainTaken(input.subdomain, null);
    throw err;
  }
}

function assertClaimable(row: InstanceRecord, now: Date): void {
  if (SETTLED_LIVE.has(row.status)) {
    throw new ConflictError(
      `customer ${row.customerId} already has a ${row.plan} instance (status ${row.status})`,
      `inspect it with \`clawfleet status ${row.customerId}\`, or change it with \`clawfleet upgrade\``,
    );
  }
  if (row.status === "provisioning" && row.leaseUntil && row.leaseUntil > now) throw lockedError(row.customerId);
}

async function assertSubdomainFree(db: PrismaClient, customerId: string, subdomain: string): Promise<void> {
  const holder = await db.instance.findFirst({ where: { subdomain, customerId: { not: customerId } }, select: { customerId: true } });
  if (holder) throw subdomainTaken(subdomain, holder.customerId);
}

function subdomainTaken(subdomain: string, holder: string | null): ConflictError {
  return new ConflictError(`subdomain ${subdomain} is already taken${holder ? ` by customer ${holder}` : ""}`, "choose another with --subdomain NAME");
}

function lockedError(customerId: string): ConflictError {
  return new ConflictError(
    `customer ${customerId} is being provisioned by another process`,
    "wait for it to finish, then run the command again",
  );
}

async function assertPlacement(db: PrismaClient, input: ClaimInput): Promise<void> {
  const others = await db.instance.findMany({
    where: { hostId: input.hostId, customerId: { not: input.customerId }, status: { not: "destroyed" } },
    select: { customerId: true, plan: true },
  });
  if (others.length === 0) return;
  const dedicatedOther = others.find((o) => o.plan !== "free");
  if (input.dedicated || dedicatedOther) {
    const who = (dedicatedOther ?? others[0])!;
    throw new ConflictError(
      `host already carries instance ${who.customerId} (${who.plan}); ${input.dedicated ? input.plan + " needs a dedicated host" : "that host is dedicated"}`,
      "choose another host with --host, or add one with `clawfleet hosts add`",
    );
  }
}

async function usedSlots(db: PrismaClient, hostId: string, exceptCustomer: string): Promise<Set<number>> {
  const rows = await db.instance.findMany({
    where: { hostId, customerId: { not: exceptCustomer }, portSlot: { not: null } },
    select: { portSlot: true },
  });
  return new Set(rows.map((r) => r.portSlot!));
}

function lowestFree(used: Set<number>): number {
  let slot = 0;
  while (used.has(slot)) slot++;
  return slot;
}

export { isRetryable };
