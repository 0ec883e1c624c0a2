import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/clawfleet.js");

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (for --json runs). */
  json<T = Record<string, any>>(): T;
}

/** Runs the built CLI as a user would, with its own database unless env overrides it. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({
        code: code ?? -1,
        stdout,
        stderr,
        json: () => JSON.parse(stdout.trim().split("\n").pop() ?? "null"),
      }),
    );
  });
}

/** A fresh SQLite database URL in a temp dir. */
export function tempDbUrl(prefix = "cf-it-"): string {
  return "file:" + path.join(mkdtempSync(path.join(os.tmpdir(), prefix)), "clawfleet.db");
}
