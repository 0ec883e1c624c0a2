import type { IdempotencyRecord, IdempotencyRepo } from "./coordination-types.js";
import type { PrismaClient } from "./generated/sqlite/client.js";
import { isUniqueViolation, withRetry } from "./retry.js";

/** Idempotency keys: the key's primary key picks the one request that runs; the rest read its row. */
export function idempotencyRepo(db: PrismaClient): IdempotencyRepo {
  const get = async (key: string) => (await db.idempotencyKey.findUnique({ where: { key } })) as IdempotencyRecord | null;
  return {
    async begin({ key, operation, requestHash, customerId, owner, ttlMs, now }) {
      const until = new Date(now.getTime() + ttlMs);
      try {
        const record = await withRetry(() =>
          db.idempotencyKey.create({ data: { key, operation, requestHash, customerId, status: "running", result: null, owner, until, createdAt: now } }),
        );
        return { inserted: true, record: record as IdempotencyRecord };
      } catch (err) {
        if (!isUniqueViolation(err, "key")) throw err;
        const record = await get(key);
        if (!record) throw err;
        return { inserted: false, record };
      }
    },
    async takeover(key, expect, owner, until) {
      const res = await withRetry(() =>
        db.idempotencyKey.updateMany({ where: { key, owner: expect.owner, status: expect.status }, data: { status: "running", owner, until, result: null } }),
      );
      return res.count === 1;
    },
    async renew(key, owner, until) {
      const res = await withRetry(() => db.idempotencyKey.updateMany({ where: { key, owner, status: "running" }, data: { until } }));
      return res.count === 1;
    },
    async finish(key, owner, status, result) {
      const res = await withRetry(() => db.idempotencyKey.updateMany({ where: { key, owner, status: "running" }, data: { status, result } }));
      return res.count === 1;
    },
    get,
  };
}
