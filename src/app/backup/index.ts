/** The backup capability's public surface: take, list, prune, purge, restore in place or into a clone, and the daemon's tick. */
import type { Deps } from "../ports.js";
import { cloneFromBackup, type CloneResult } from "./clone.js";
import { restoreInPlace, type RestoreOutcome } from "./restore.js";

export { backupInstance, type BackupInput, type BackupResult } from "./take.js";
export { listBackups, pruneBackups, purgeBackups, countKept, type BackupEntry, type PruneBackupsResult } from "./catalog.js";
export { runDueBackups, type BackupTickReport, type ScheduledRun } from "./schedule.js";
export type { RestoreOutcome } from "./restore.js";
export type { CloneResult } from "./clone.js";

export interface RestoreInput {
  /** The instance restored in place; with `to`, the instance the backup came from. */
  customerId: string;
  backupId: string;
  /** Restore into a new instance with this id instead (a clone, with its own token). */
  to?: string;
  host?: string;
  plan?: string;
  plansFile?: string;
}

export type RestoreResult = ({ mode: "in-place" } & RestoreOutcome) | ({ mode: "clone" } & CloneResult);

export async function restoreBackup(deps: Deps, input: RestoreInput): Promise<RestoreResult> {
  if (input.to === undefined) return { mode: "in-place", ...(await restoreInPlace(deps, input.customerId, input.backupId, { plansFile: input.plansFile })) };
  return { mode: "clone", ...(await cloneFromBackup(deps, { backupId: input.backupId, to: input.to, host: input.host, plan: input.plan, plansFile: input.plansFile })) };
}
