/** A real `clawfleet health daemon` process for the integration tests. */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/clawfleet.js");

export interface Daemon {
  child: ChildProcess;
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `clawfleet health daemon ARGS…` with `env` on top of this process's. */
export function daemon(args: string[], env: NodeJS.ProcessEnv): Daemon {
  const child = spawn(process.execPath, [bin, "health", "daemon", ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on("exit", (code, signal) => r({ code, signal })));
  return { child, out: () => out, exited };
}

/** SIGTERM unless it has exited already; resolves with how it exited. */
export async function stop(d: Daemon) {
  if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill("SIGTERM");
  return d.exited;
}

/** The lease owner id a daemon prints as `health daemon <owner> started`. */
export function ownerOf(d: Daemon): string | null {
  return /health daemon (\S+) started/.exec(d.out())?.[1] ?? null;
}
