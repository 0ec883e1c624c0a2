import type { RunSlotHolder, RunSlotRepo } from "./coordination-types.js";
import type { PrismaClient } from "./generated/sqlite/client.js";
import { withRetry } from "./retry.js";

/**
 * Run slots as rows keyed (hostId, slot): taking one is an INSERT, so the primary key decides
 * between racing processes on both databases. An expired row is deleted (only while still expired)
 * before its slot is inserted again.
 */
export function runSlotRepo(db: PrismaClient): RunSlotRepo {
  const insert = async (hostId: string, slot: number, owner: string, label: string | null, now: Date, until: Date): Promise<boolean> => {
    try {
      await withRetry(() => db.runSlot.create({ data: { hostId, slot, owner, label, since: now, until } }));
      return true;
    } catch (err) {
      // The primary key is RunSlot's only unique constraint: any violation means the slot is held.
      if ((err as { code?: string })?.code === "P2002") return false;
      throw err;
    }
  };
  return {
    async tryAcquire({ hostId, limit, owner, label, ttlMs, now }) {
      const until = new Date(now.getTime() + ttlMs);
      const rows = await db.runSlot.findMany({ where: { hostId, slot: { lt: limit } }, select: { slot: true, until: true } });
      const live = new Set(rows.filter((r) => r.until >= now).map((r) => r.slot));
      const expired = new Set(rows.filter((r) => r.until < now).map((r) => r.slot));
      for (let slot = 0; slot < limit; slot++) {
        if (live.has(slot)) continue;
        if (expired.has(slot)) await withRetry(() => db.runSlot.deleteMany({ where: { hostId, slot, until: { lt: now } } }));
        if (await insert(hostId, slot, owner, label ?? null, now, until)) return { slot, until };
      }
      return null;
    },
    async renew(hostId, slot, owner, until) {
      const res = await withRetry(() => db.runSlot.updateMany({ where: { hostId, slot, owner }, data: { until } }));
      return res.count === 1;
    },
    async release(hostId, slot, owner) {
      await withRetry(() => db.runSlot.deleteMany({ where: { hostId, slot, owner } }));
    },
    async holders(hostId, now) {
      const rows = await db.runSlot.findMany({ where: { hostId, until: { gte: now } }, orderBy: { slot: "asc" } });
      return rows as RunSlotHolder[];
    },
    async evict(hostId, slot, owner) {
      const res = await withRetry(() => db.runSlot.deleteMany({ where: { hostId, slot, owner } }));
      return res.count === 1;
    },
  };
}
