import type { PrismaClient } from "./generated/sqlite/client.js";
import type { EventRecord, EventRepo } from "./types.js";

export function eventRepo(db: PrismaClient): EventRepo {
  return {
    async record(e) {
      await db.event.create({ data: { actor: e.actor, action: e.action, target: e.target, outcome: e.outcome, detail: e.detail ?? null } });
    },
    async list(filter = {}) {
      const rows = await db.event.findMany({
        where: { target: filter.target },
        orderBy: { at: "desc" },
        take: filter.limit ?? 100,
      });
      return rows.map((r) => ({ ...r, outcome: r.outcome as EventRecord["outcome"], detail: r.detail ?? undefined }));
    },
  };
}
