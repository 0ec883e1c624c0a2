import { NotFoundError } from "../errors.js";
import type { BackupRecord, BackupRepo, BackupRetention, BackupStatus } from "./backup-types.js";
import type { Backup, PrismaClient } from "./generated/sqlite/client.js";
import { withRetry } from "./retry.js";

/** SQLite binds at most 32766 variables per statement; stay far below it. */
const CHUNK = 250;
/** Newest first; the id breaks ties between rows started in the same millisecond. */
const NEWEST = [{ at: "desc" as const }, { id: "desc" as const }];

export function backupRepo(db: PrismaClient): BackupRepo {
  return {
    async create(input) {
      // Named fields only: a caller passing a whole record must not smuggle in an id or a status.
      const { instanceId, customerId, hostName, plan, trigger, retention, path, encrypted, recipient, at } = input;
      const data = { instanceId, customerId, hostName, plan, trigger, retention, path, encrypted, recipient, at, status: "running" };
      return toRecord(await withRetry(() => db.backup.create({ data })));
    },
    async get(id) {
      const row = await db.backup.findUnique({ where: { id } });
      return row ? toRecord(row) : null;
    },
    async update(id, patch) {
      const { bytes, ...rest } = patch;
      const data = { ...rest, ...(bytes !== undefined ? { bytes: bytes === null ? null : BigInt(bytes) } : {}) };
      // updateMany, not update: an unknown id is a count of 0, not a driver error to decode.
      const res = await withRetry(() => db.backup.updateMany({ where: { id }, data }));
      const row = res.count === 1 ? await db.backup.findUnique({ where: { id } }) : null;
      if (!row) throw new NotFoundError(`no backup ${id}`, "see the backups with `clawfleet backup list`");
      return toRecord(row);
    },
    async list(filter = {}) {
      const rows = await db.backup.findMany({
        where: { customerId: filter.customerId, ...(filter.statuses ? { status: { in: filter.statuses } } : {}) },
        orderBy: NEWEST,
        take: filter.limit ?? 1000,
      });
      return rows.map(toRecord);
    },
    async latest(customerIds) {
      const out = new Map<string, { lastOk: BackupRecord | null; lastAttempt: BackupRecord | null }>();
      if (customerIds?.length === 0) return out;
      // A long id list would pass the bind-variable limit: filter it here instead of in SQL.
      const wanted = customerIds ? new Set(customerIds) : null;
      const inSql = customerIds && customerIds.length <= CHUNK ? { customerId: { in: customerIds } } : {};
      // One query for every customer: finished attempts newest first; the first of each customer is
      // its last attempt and the first ok one its last success.
      const rows = await db.backup.findMany({ where: { status: { in: ["ok", "failed"] }, ...inSql }, orderBy: NEWEST });
      for (const row of rows) {
        if (wanted && !wanted.has(row.customerId)) continue;
        const seen = out.get(row.customerId) ?? { lastOk: null, lastAttempt: null };
        if (!seen.lastAttempt) seen.lastAttempt = toRecord(row);
        if (!seen.lastOk && row.status === "ok") seen.lastOk = toRecord(row);
        out.set(row.customerId, seen);
      }
      return out;
    },
    async remove(ids) {
      let removed = 0;
      for (let i = 0; i < ids.length; i += CHUNK) {
        const chunk = ids.slice(i, i + CHUNK);
        removed += (await withRetry(() => db.backup.deleteMany({ where: { id: { in: chunk } } }))).count;
      }
      return removed;
    },
  };
}

// Sizes stay far below 2^53, so a JS number holds them exactly.
function toRecord(row: Backup): BackupRecord {
  return {
    ...row,
    status: row.status as BackupStatus,
    retention: row.retention as BackupRetention,
    bytes: row.bytes === null ? null : Number(row.bytes),
  };
}
