import { fileURLToPath } from "node:url";
import path from "node:path";
import os from "node:os";

/** The package root: two levels above this file in both src/ (tsx, vitest) and dist/. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function stateDir(env: NodeJS.ProcessEnv): string {
  return path.join(env.XDG_STATE_HOME || path.join(os.homedir(), ".local", "state"), "clawfleet");
}

/** Where backup files go: CLAWFLEET_BACKUP_DIR, else $XDG_STATE_HOME/clawfleet/backups. */
export function defaultBackupDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.CLAWFLEET_BACKUP_DIR || path.join(stateDir(env), "backups"));
}

/** Default SQLite location: $XDG_STATE_HOME/clawfleet/clawfleet.db, else ~/.local/state/clawfleet/. */
export function defaultDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  return "file:" + path.join(stateDir(env), "clawfleet.db");
}
