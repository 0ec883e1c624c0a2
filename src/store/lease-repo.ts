import type { PrismaClient } from "./generated/sqlite/client.js";
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
      const res = await withRetry(() =>
        db.instance.updateMany({
          where: {
            customerId,
            status: { in: statuses },
            OR: [{ leaseOwner: null }, { leaseUntil: null }, { leaseUntil: { lt: now } }, { leaseOwner: owner }],
          },
          data: { leaseOwner: owner, leaseUntil: until, leaseFence: { increment: 1 } },
        }),
      );
      if (res.count !== 1) return null;
      const row = (await db.instance.findUnique({ where: { customerId } })) as InstanceRecord | null;
      if (!row || row.leaseOwner !== owner) return null;
      return { customerId, owner, fence: row.leaseFence, until, row } satisfies Lease;
    },
    async write(lease, patch) {
      return fencedUpdate(db, lease, patch);
    },
    async release(lease, patch = {}) {
      return fencedUpdate(db, lease, { ...patch, leaseOwner: null, leaseUntil: null });
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
