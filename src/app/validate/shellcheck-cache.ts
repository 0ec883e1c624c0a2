import { createHash } from "node:crypto";
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { ShellcheckComment } from "./tools.js";

/**
 * shellcheck's findings for an exact script, kept by content: the same bytes checked by the same
 * shellcheck binary (path, size, mtime) with the same flags give the same findings, so a release
 * CI run that did not change provision.sh skips the ~0.3 s shellcheck process, as eslint --cache
 * does. Any cache failure just means a miss; it never fails a check.
 */
export interface ShellcheckCache {
  /** The findings for `script`, with `file` set to `file`; null on a miss. */
  get(script: string, file: string): Promise<ShellcheckComment[] | null>;
  put(script: string, comments: ShellcheckComment[]): Promise<void>;
}

/** CLAWFLEET_CACHE_DIR, else $XDG_CACHE_HOME/clawfleet, else ~/.cache/clawfleet. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CLAWFLEET_CACHE_DIR || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "clawfleet");
}

export async function openShellcheckCache(dir: string, bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ShellcheckCache | null> {
  const identity = await binaryIdentity(bin, env);
  if (!identity) return null;
  const root = path.join(dir, "shellcheck");
  const keyOf = (script: string) => createHash("sha256").update(`${identity}\0${args.join("\0")}\0${script}`).digest("hex");
  return {
    async get(script, file) {
      try {
        const saved = JSON.parse(await readFile(path.join(root, keyOf(script) + ".json"), "utf8")) as ShellcheckComment[];
        return Array.isArray(saved) ? saved.map((c) => ({ ...c, file })) : null;
      } catch {
        return null;
      }
    },
    async put(script, comments) {
      const target = path.join(root, keyOf(script) + ".json");
      const tmp = `${target}.${process.pid}.tmp`;
      try {
        await mkdir(root, { recursive: true, mode: 0o700 });
        await writeFile(tmp, JSON.stringify(comments.map((c) => ({ ...c, file: "" }))), { mode: 0o600 });
        await rename(tmp, target);
      } catch {
        // read-only home, full disk: the next run checks again
      }
    },
  };
}

/** Where `bin` resolves on PATH and what that file is; null when it is not there. */
async function binaryIdentity(bin: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  const candidates = bin.includes("/") ? [bin] : (env.PATH ?? "").split(path.delimiter).filter(Boolean).map((d) => path.join(d, bin));
  for (const file of candidates) {
    try {
      const s = await stat(file);
      if (s.isFile()) return `${path.resolve(file)}:${s.size}:${s.mtimeMs}:${s.ino}`;
    } catch {
      // not in this directory
    }
  }
  return null;
}
