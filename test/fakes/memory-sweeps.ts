import type { HostSweepState, SweepLeaseRepo } from "../../src/store/coordination-types.js";

/** In-memory SweepLeaseRepo with the Prisma version's rules; states are keyed by host id. */
export function memorySweeps() {
  const sweepRows = new Map<string, HostSweepState>();
  const row = (hostId: string) => sweepRows.get(hostId) ?? { hostId, owner: null, until: null, sweptAt: null, sweptBy: null };
  const sweeps: SweepLeaseRepo = {
    async claim({ owner, hostIds, dueBefore, now, until, takeoverFrom = [] }) {
      const won: string[] = [];
      for (const id of hostIds) {
        const r = row(id);
        const free = r.owner === null || r.until === null || r.until < now || takeoverFrom.includes(r.owner);
        const due = !dueBefore || r.sweptAt === null || r.sweptAt < dueBefore;
        if (free && due) sweepRows.set(id, { ...r, owner, until });
        if (sweepRows.get(id)?.owner === owner) won.push(id);
      }
      return won;
    },
    async renew(owner, until) {
      let n = 0;
      for (const r of sweepRows.values()) if (r.owner === owner) (r.until = until), n++;
      return n;
    },
    async finish(owner, hostIds, periodAt) {
      let n = 0;
      for (const id of hostIds) {
        const r = sweepRows.get(id);
        if (r?.owner !== owner) continue;
        sweepRows.set(id, { hostId: id, owner: null, until: null, sweptAt: periodAt, sweptBy: owner });
        n++;
      }
      return n;
    },
    async release(owner, hostIds) {
      for (const id of hostIds) {
        const r = sweepRows.get(id);
        if (r?.owner === owner) sweepRows.set(id, { ...r, owner: null, until: null });
      }
    },
    async states(hostIds) {
      return (hostIds ?? [...sweepRows.keys()]).map((id) => ({ ...row(id) }));
    },
  };
  return { sweeps, sweepRows };
}
