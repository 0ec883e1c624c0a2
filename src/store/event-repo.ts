import type { PrismaClient } from "./generated/sqlite/client.js";
import type { EventRecord, EventRepo } from "./types.js";

export function eventRepo(db: PrismaClient): EventRepo {
  return {
    async record(e) {
      await db.event.create({ data: { actor: e.actor, action: e.action, target: e.target, outcome: e.outcome, detail: e.detail ?? null } });
    },
    async list(filter = {}) {
      const rows = await db.event.findMany({
        where: {
          AND: [
            filter.target !== undefined ? { target: filter.target } : {},
            filter.targets ? { target: { in: filter.targets } } : {},
            filter.actionPrefix ? { action: { startsWith: filter.actionPrefix } } : {},
            filter.since ? { at: { gte: filter.since } } : {},
          ],
        },
        orderBy: [{ at: "desc" }, { id: "desc" }],
        take: filter.limit ?? 100,
      });
      return rows.map((r) => ({ ...r, outcome: r.outcome as EventRecord["outcome"], detail: r.detail ?? undefined }));
    },
  };
}
