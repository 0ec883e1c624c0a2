import { fileURLToPath } from "node:url";
import path from "node:path";
import os from "node:os";

/** The package root: two levels above this file in both src/ (tsx, vitest) and dist/. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Default SQLite location: $XDG_STATE_HOME/clawfleet/clawfleet.db, else ~/.local/state/clawfleet/. */
export function defaultDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME || path.join(os.homedir(), ".local", "state");
  return "file:" + path.join(state, "clawfleet", "clawfleet.db");
}
