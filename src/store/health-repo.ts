import type { PrismaClient } from "./generated/sqlite/client.js";
import type { HealthCheckRecord, HealthCheckStatus, HealthRepo } from "./health-types.js";
import { withRetry } from "./retry.js";

/** SQLite binds at most 32766 variables per statement; stay far below it. */
const CHUNK = 250;

export function healthRepo(db: PrismaClient): HealthRepo {
  return {
    async record(rows) {
      for (let i = 0; i < rows.length; i += CHUNK) {
        const data = rows.slice(i, i + CHUNK);
        await withRetry(() => db.healthCheck.createMany({ data }));
      }
    },
    async history(instanceId, opts = {}) {
      const rows = await db.healthCheck.findMany({
        where: { instanceId, ...(opts.since ? { at: { gte: opts.since } } : {}) },
        orderBy: { at: "desc" },
        take: opts.limit ?? 50,
      });
      return rows.map((r) => ({ ...r, status: (r.status ?? (r.ok ? "healthy" : "unhealthy")) as HealthCheckStatus }) satisfies HealthCheckRecord);
    },
    async prune(before) {
      const res = await withRetry(() => db.healthCheck.deleteMany({ where: { at: { lt: before } } }));
      return res.count;
    },
    async touchHealthy(instanceIds, at) {
      for (let i = 0; i < instanceIds.length; i += CHUNK) {
        const ids = instanceIds.slice(i, i + CHUNK);
        // The guard keeps a concurrent transition (a lease holder's write) from being overwritten.
        await withRetry(() => db.instance.updateMany({ where: { id: { in: ids }, status: "healthy", consecutiveFailures: 0 }, data: { lastHealthAt: at } }));
      }
    },
    async markHostDown(hostId, at, reason) {
      const res = await withRetry(() => db.host.updateMany({ where: { id: hostId, downSince: null }, data: { downSince: at, downReason: reason.slice(0, 500) } }));
      return res.count === 1;
    },
    async markHostUp(hostId) {
      const host = await db.host.findUnique({ where: { id: hostId }, select: { downSince: true } });
      if (!host?.downSince) return null;
      const res = await withRetry(() => db.host.updateMany({ where: { id: hostId, downSince: host.downSince }, data: { downSince: null, downReason: null } }));
      return res.count === 1 ? host.downSince : null;
    },
    countEvents(actionPrefix, since) {
      return db.event.count({ where: { action: { startsWith: actionPrefix }, at: { gte: since } } });
    },
  };
}
