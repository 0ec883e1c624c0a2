import { NotFoundError } from "../errors.js";
import { claimOnce, usedSlots } from "./claim.js";
import { lowestFree, USES_MEMORY } from "./claim-rules.js";
import type { PrismaClient } from "./generated/sqlite/client.js";
import type { InstanceRecord, InstanceRepo } from "./types.js";
import { isRetryable, withRetry } from "./retry.js";

export function instanceRepo(db: PrismaClient): InstanceRepo {
  const repo: InstanceRepo = {
    async get(customerId) {
      return (await db.instance.findUnique({ where: { customerId } })) as InstanceRecord | null;
    },
    async list(filter = {}) {
      const rows = await db.instance.findMany({
        where: {
          hostId: filter.hostIds ? { in: filter.hostIds } : filter.hostId,
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
    async usage() {
      const groups = await db.instance.groupBy({ by: ["hostId"], where: USES_MEMORY, _sum: { memoryMb: true }, _count: { _all: true } });
      return new Map(groups.map((g) => [g.hostId, { usedMb: g._sum.memoryMb ?? 0, count: g._count._all }]));
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

export { isRetryable };
