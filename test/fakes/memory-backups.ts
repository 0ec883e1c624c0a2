import { NotFoundError } from "../../src/errors.js";
import type { BackupRecord, BackupRepo } from "../../src/store/backup-types.js";
import type { InstanceRecord } from "../../src/store/types.js";

/** An in-memory BackupRepo with the Prisma version's rules, over memoryStore's instance rows. */
export function memoryBackups(instances: Map<string, InstanceRecord>) {
  const backupRows: BackupRecord[] = [];
  const order = new Map<string, number>();
  let seq = 0;
  // Copies, as Prisma returns fresh objects: a caller's edit must not change the stored row.
  const copy = (b: BackupRecord): BackupRecord => ({ ...b });
  // Newest first; creation order breaks ties, like the cuid tie-break in SQL.
  const newest = (a: BackupRecord, b: BackupRecord) => b.at.getTime() - a.at.getTime() || order.get(b.id)! - order.get(a.id)!;
  const backups: BackupRepo = {
    async create(input) {
      // The real table's foreign key refuses a backup of an unknown instance.
      if (![...instances.values()].some((r) => r.id === input.instanceId)) throw new Error(`Foreign key constraint violated: Backup_instanceId_fkey (${input.instanceId})`);
      const rec: BackupRecord = { ...input, id: `bk${++seq}`, status: "running", finishedAt: null, bytes: null, sha256: null, plainSha256: null, detail: null };
      order.set(rec.id, seq);
      backupRows.push(rec);
      return copy(rec);
    },
    get: async (id) => {
      const b = backupRows.find((r) => r.id === id);
      return b ? copy(b) : null;
    },
    async update(id, patch) {
      const b = backupRows.find((r) => r.id === id);
      if (!b) throw new NotFoundError(`no backup ${id}`, "see the backups with `clawfleet backup list`");
      // Prisma skips undefined fields rather than clearing them.
      for (const [k, v] of Object.entries(patch)) if (v !== undefined) Object.assign(b, { [k]: v });
      return copy(b);
    },
    list: async (f = {}) =>
      backupRows
        .filter((b) => (!f.customerId || b.customerId === f.customerId) && (!f.statuses || f.statuses.includes(b.status)))
        .sort(newest)
        .slice(0, f.limit ?? 1000)
        .map(copy),
    async latest(customerIds) {
      const out = new Map<string, { lastOk: BackupRecord | null; lastAttempt: BackupRecord | null }>();
      const wanted = customerIds ? new Set(customerIds) : null;
      for (const b of [...backupRows].sort(newest)) {
        if ((wanted && !wanted.has(b.customerId)) || (b.status !== "ok" && b.status !== "failed")) continue;
        const seen = out.get(b.customerId) ?? { lastOk: null, lastAttempt: null };
        seen.lastAttempt ??= copy(b);
        if (b.status === "ok") seen.lastOk ??= copy(b);
        out.set(b.customerId, seen);
      }
      return out;
    },
    async remove(ids) {
      const drop = new Set(ids);
      const keep = backupRows.filter((b) => !drop.has(b.id));
      const removed = backupRows.length - keep.length;
      backupRows.splice(0, backupRows.length, ...keep);
      return removed;
    },
  };
  return { backups, backupRows };
}
