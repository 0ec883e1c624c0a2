import type { Prisma, PrismaClient } from "./generated/sqlite/client.js";
import type { Lease, LeaseRepo } from "./health-types.js";
import type { InstanceRecord } from "./types.js";
import { withRetry } from "./retry.js";

/**
 * Leases as single conditional UPDATEs. On PostgreSQL a concurrent UPDATE of the same row waits
 * for the first, then re-checks the WHERE on the new row version, so exactly one caller matches;
 * on SQLite writers are serialised. Either way the update count is the compare-and-set result.
 */
const TRANSITION_CHUNK = 100;

export function leaseRepo(db: PrismaClient): LeaseRepo {
  return {
    async acquire({ customerId, owner, ttlMs, now, statuses }) {
      const until = new Date(now.getTime() + ttlMs);
      const base = { customerId, status: { in: statuses } };
      // A free or lapsed lease starts a new holding (leaseSince = now); our own live one keeps its start.
      const fresh = { leaseOwner: owner, leaseUntil: until, leaseSince: now, leaseFence: { increment: 1 } };
      let count = await casCount(db, { ...base, OR: [{ leaseOwner: null }, { leaseUntil: null }, { leaseUntil: { lt: now } }] }, fresh);
      if (count !== 1) count = await casCount(db, { ...base, leaseOwner: owner }, { leaseUntil: until, leaseFence: { increment: 1 } });
      return count === 1 ? leaseOf(db, customerId, owner, until) : null;
    },
    async takeover({ customerId, fromOwner, owner, ttlMs, now, statuses }) {
      const until = new Date(now.getTime() + ttlMs);
      const data = { leaseOwner: owner, leaseUntil: until, leaseSince: now, leaseFence: { increment: 1 } };
      const count = await casCount(db, { customerId, status: { in: statuses }, leaseOwner: fromOwner }, data);
      return count === 1 ? leaseOf(db, customerId, owner, until) : null;
    },
    async unlock(customerId) {
      // Compare-and-set on the (owner, fence) just read, so a concurrent change is re-read, never lost.
      for (let attempt = 0; attempt < 10; attempt++) {
        const row = await db.instance.findUnique({ where: { customerId }, select: { leaseOwner: true, leaseSince: true, leaseUntil: true, leaseFence: true } });
        if (!row?.leaseOwner) return null;
        const cleared = { leaseOwner: null, leaseUntil: null, leaseSince: null, leaseFence: { increment: 1 } };
        if ((await casCount(db, { customerId, leaseOwner: row.leaseOwner, leaseFence: row.leaseFence }, cleared)) === 1) {
          return { owner: row.leaseOwner, since: row.leaseSince, until: row.leaseUntil };
        }
      }
      throw new Error(`could not unlock ${customerId}: its lease kept changing`);
    },
    async renew(lease, until) {
      return fencedUpdate(db, lease, { leaseUntil: until });
    },
    async write(lease, patch) {
      return fencedUpdate(db, lease, patch);
    },
    async release(lease, patch = {}) {
      return fencedUpdate(db, lease, { ...patch, leaseOwner: null, leaseUntil: null, leaseSince: null });
    },
    async transition(items, now) {
      const applied: boolean[] = [];
      // One transaction per chunk: one commit (one fsync on SQLite) for many rows, with bounded memory.
      for (let i = 0; i < items.length; i += TRANSITION_CHUNK) {
        const chunk = items.slice(i, i + TRANSITION_CHUNK);
        const results = await withRetry(() =>
          db.$transaction(
            chunk.map(({ customerId, expect, patch }) =>
              db.instance.updateMany({
                where: { customerId, ...expect, OR: [{ leaseOwner: null }, { leaseUntil: null }, { leaseUntil: { lt: now } }] },
                data: strip(patch) as object,
              }),
            ),
          ),
        );
        applied.push(...results.map((r) => r.count === 1));
      }
      return applied;
    },
  };
}

async function casCount(db: PrismaClient, where: Prisma.InstanceWhereInput, data: Prisma.InstanceUpdateManyMutationInput): Promise<number> {
  return (await withRetry(() => db.instance.updateMany({ where, data }))).count;
}

async function leaseOf(db: PrismaClient, customerId: string, owner: string, until: Date): Promise<Lease | null> {
  const row = (await db.instance.findUnique({ where: { customerId } })) as InstanceRecord | null;
  if (!row || row.leaseOwner !== owner) return null;
  return { customerId, owner, fence: row.leaseFence, until, row } satisfies Lease;
}

function strip(patch: Partial<InstanceRecord>): Partial<InstanceRecord> {
  const { id: _id, customerId: _c, createdAt: _a, updatedAt: _u, leaseFence: _f, ...data } = patch;
  return data;
}

async function fencedUpdate(db: PrismaClient, lease: Lease, patch: Partial<InstanceRecord>): Promise<boolean> {
  const data = strip(patch);
  const res = await withRetry(() =>
    db.instance.updateMany({ where: { customerId: lease.customerId, leaseOwner: lease.owner, leaseFence: lease.fence }, data: data as object }),
  );
  return res.count === 1;
}
