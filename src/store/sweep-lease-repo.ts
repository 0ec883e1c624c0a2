import type { HostSweepState, SweepLeaseRepo } from "./coordination-types.js";
import type { PrismaClient } from "./generated/sqlite/client.js";
import { withRetry } from "./retry.js";

/**
 * Sweep leases as columns on Host. The claim is a single UPDATE whose WHERE re-checks "free and
 * due" per row: on PostgreSQL a racing UPDATE waits on the row lock and re-evaluates, on SQLite
 * writers are serialised, so each host goes to exactly one claimant. Reading back `sweepOwner`
 * tells the claimant which rows it won.
 */
export function sweepLeaseRepo(db: PrismaClient): SweepLeaseRepo {
  return {
    async claim({ owner, hostIds, dueBefore, now, until, takeoverFrom = [] }) {
      if (hostIds.length === 0) return [];
      const free = [{ sweepOwner: null }, { sweepUntil: null }, { sweepUntil: { lt: now } }, ...(takeoverFrom.length ? [{ sweepOwner: { in: takeoverFrom } }] : [])];
      const due = dueBefore ? [{ OR: [{ sweptAt: null }, { sweptAt: { lt: dueBefore } }] }] : [];
      await withRetry(() =>
        db.host.updateMany({ where: { id: { in: hostIds }, AND: [{ OR: free }, ...due] }, data: { sweepOwner: owner, sweepUntil: until } }),
      );
      const won = await db.host.findMany({ where: { id: { in: hostIds }, sweepOwner: owner }, select: { id: true } });
      return won.map((r) => r.id);
    },
    async renew(owner, until) {
      const res = await withRetry(() => db.host.updateMany({ where: { sweepOwner: owner }, data: { sweepUntil: until } }));
      return res.count;
    },
    async finish(owner, hostIds, periodAt) {
      if (hostIds.length === 0) return 0;
      const res = await withRetry(() =>
        db.host.updateMany({ where: { id: { in: hostIds }, sweepOwner: owner }, data: { sweepOwner: null, sweepUntil: null, sweptAt: periodAt, sweptBy: owner } }),
      );
      return res.count;
    },
    async release(owner, hostIds) {
      if (hostIds.length === 0) return;
      await withRetry(() => db.host.updateMany({ where: { id: { in: hostIds }, sweepOwner: owner }, data: { sweepOwner: null, sweepUntil: null } }));
    },
    async states(hostIds) {
      const rows = await db.host.findMany({
        where: hostIds ? { id: { in: hostIds } } : {},
        select: { id: true, sweepOwner: true, sweepUntil: true, sweptAt: true, sweptBy: true },
      });
      return rows.map((r): HostSweepState => ({ hostId: r.id, owner: r.sweepOwner, until: r.sweepUntil, sweptAt: r.sweptAt, sweptBy: r.sweptBy }));
    },
  };
}
