import { readdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import { toPrune } from "../../domain/backup-schedule.js";
import { checkCustomerId } from "../../domain/ids.js";
import { loadPlansFor, DEFAULT_BACKUP_KEEP, type Plans } from "../../domain/plans.js";
import { defaultBackupDir } from "../../paths.js";
import type { BackupRecord } from "../../store/backup-types.js";
import { audit } from "../audit/record.js";
import type { Deps } from "../ports.js";

/** A backup as `backups list` shows it. */
export interface BackupEntry {
  id: string;
  customerId: string;
  host: string;
  plan: string;
  at: string;
  status: string;
  trigger: string;
  retention: string;
  bytes: number | null;
  sha256: string | null;
  encrypted: boolean;
  path: string;
  detail: string | null;
}

export function entryOf(b: BackupRecord): BackupEntry {
  return {
    id: b.id, customerId: b.customerId, host: b.hostName, plan: b.plan, at: b.at.toISOString(), status: b.status, trigger: b.trigger,
    retention: b.retention, bytes: b.bytes, sha256: b.sha256, encrypted: b.encrypted, path: b.path, detail: b.detail,
  };
}

/** Newest first; pruned and purged rows only with `all`. */
export async function listBackups(deps: Deps, opts: { customerId?: string; all?: boolean; limit?: number } = {}): Promise<BackupEntry[]> {
  const customerId = opts.customerId === undefined ? undefined : checkCustomerId(opts.customerId, "ID");
  const rows = await deps.store.backups.list({ customerId, limit: opts.limit, statuses: opts.all ? undefined : ["ok", "failed", "running"] });
  return rows.map(entryOf);
}

export interface PruneBackupsResult {
  dryRun: boolean;
  /** Backups beyond their plan's `keep`, newest kept. */
  pruned: BackupEntry[];
  /** Partial files that no running backup owns (a killed process left them). */
  strayPartials: string[];
  kept: number;
}

/** A partial younger than this may belong to a backup still being written by another process. */
const STRAY_AFTER_MS = 6 * 3_600_000 + 3_600_000;

/** Applies each plan's `keep` to its instances' good "plan" backups; removes stray partial files. */
export async function pruneBackups(deps: Deps, opts: { dryRun?: boolean; plansFile?: string } = {}): Promise<PruneBackupsResult> {
  const plans = await loadPlansFor(deps, opts.plansFile);
  const ok = await deps.store.backups.list({ statuses: ["ok"], limit: 1_000_000 });
  const byCustomer = new Map<string, BackupRecord[]>();
  for (const b of ok) byCustomer.set(b.customerId, [...(byCustomer.get(b.customerId) ?? []), b]);
  const doomed = [...byCustomer.values()].flatMap((list) => toPrune(list, keepFor(plans, list[0]!.plan)));
  const strays = await strayPartials(deps, new Set((await deps.store.backups.list({ statuses: ["running"] })).map((b) => `${b.path}.partial`)));
  if (!opts.dryRun) {
    for (const b of doomed) {
      await rm(b.path, { force: true });
      await deps.store.backups.update(b.id, { status: "pruned" });
    }
    for (const f of strays) await rm(f, { force: true });
    if (doomed.length + strays.length > 0) await audit(deps, "backup.prune", "fleet", "ok", `pruned ${doomed.length} backup(s), removed ${strays.length} stray partial file(s)`);
  }
  return { dryRun: Boolean(opts.dryRun), pruned: doomed.map(entryOf), strayPartials: strays, kept: ok.length - doomed.length };
}

function keepFor(plans: Plans, plan: string): number {
  return plans.plans[plan]?.backups.keep ?? DEFAULT_BACKUP_KEEP;
}

async function strayPartials(deps: Deps, owned: Set<string>): Promise<string[]> {
  const root = defaultBackupDir(deps.env);
  const dirs = await readdir(root, { withFileTypes: true }).catch(() => []);
  const now = deps.clock.now().getTime();
  const out: string[] = [];
  for (const d of dirs.filter((e) => e.isDirectory())) {
    for (const f of await readdir(path.join(root, d.name)).catch(() => [] as string[])) {
      const file = path.join(root, d.name, f);
      if (!f.endsWith(".partial") || owned.has(file)) continue;
      const st = await stat(file).catch(() => null);
      if (st && now - st.mtimeMs > STRAY_AFTER_MS) out.push(file);
    }
  }
  return out;
}

/** destroy --purge-backups: deletes every backup file of the customer and their rows. */
export async function purgeBackups(deps: Deps, customerId: string): Promise<number> {
  const rows = await deps.store.backups.list({ customerId, limit: 1_000_000 });
  for (const b of rows) await rm(b.path, { force: true });
  await deps.store.backups.remove(rows.map((b) => b.id));
  if (rows.length) await audit(deps, "backup.purge", customerId, "ok", `purged ${rows.length} backup(s)`);
  return rows.filter((b) => b.status === "ok").length;
}

/** How many good backups the customer has (destroy says they are kept). */
export async function countKept(deps: Deps, customerId: string): Promise<number> {
  return (await deps.store.backups.list({ customerId, statuses: ["ok"], limit: 1_000_000 })).length;
}
