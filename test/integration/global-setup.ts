/**
 * Vitest globalSetup for the integration project: brings up the sandbox VPS fleet with
 * `scripts/sandbox start 3`. When that is impossible (not root, no Docker...) it warns loudly and
 * the sandbox tests skip; under CI=true it fails the run instead.
 *
 * It snapshots the sandbox first and restores it afterwards (`scripts/sandbox restore`): every
 * host, weak sshd, delay proxy and container the run started is stopped and removed, and what
 * was up before (a demo, an earlier kept run) stays. CLAWFLEET_KEEP_SANDBOX=1 keeps it all up.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** Why the sandbox is unavailable, or "" when it is up. */
    sandboxUnavailable: string;
  }
}

const HOSTS = 3;
const script = fileURLToPath(new URL("../../scripts/sandbox", import.meta.url));
const stateDir = process.env.CLAWFLEET_SANDBOX_DIR || fileURLToPath(new URL("../../.sandbox", import.meta.url));

export default function setup(project: TestProject): (() => void) | undefined {
  process.env[RUN_VAR] = runId;
  const snapshot = takeSnapshot();
  const reason = startSandbox();
  project.provide("sandboxUnavailable", reason);
  if (reason === "") return () => restore(snapshot);
  // Workers spawned after this point inherit it, as a fallback to inject().
  process.env.CLAWFLEET_SANDBOX_UNAVAILABLE = reason;
  if (process.env.CI === "true") throw new Error(`The sandbox VPS is required under CI=true: ${reason}`);
  process.stderr.write(banner(reason));
}

/** What runs before this run starts anything, in a temp file; null when it cannot be known. */
function takeSnapshot(): string | null {
  if (process.env.CLAWFLEET_SANDBOX_UNAVAILABLE || process.platform !== "linux" || process.getuid?.() !== 0) return null;
  const run = spawnSync("bash", [script, "snapshot"], { encoding: "utf8", timeout: 60_000 });
  if (run.status !== 0) {
    process.stderr.write(`scripts/sandbox snapshot failed (${run.signal ?? `exit ${run.status}`}): ${run.stderr.trim()}; this run will not stop the sandbox it starts\n`);
    return null;
  }
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "cf-sandbox-snapshot-")), "before");
  writeFileSync(file, run.stdout);
  return file;
}

function restore(snapshot: string | null): void {
  if (process.env.CLAWFLEET_KEEP_SANDBOX === "1") {
    process.stderr.write("CLAWFLEET_KEEP_SANDBOX=1: the sandbox stays up; `bash scripts/sandbox stop --purge` stops it.\n");
    return;
  }
  if (!snapshot) return;
  const run = spawnSync("bash", [script, "restore", snapshot], { stdio: ["ignore", 2, 2], timeout: 300_000 });
  rmSync(path.dirname(snapshot), { recursive: true, force: true });
  if (run.status !== 0) {
    process.stderr.write(`scripts/sandbox restore failed (${run.signal ?? `exit ${run.status}`}): the sandbox may still run; see above\n`);
    process.exitCode = 1;
  }
  const left = strays();
  if (left.length === 0) return;
  // A test that forgot its child (a delay proxy, a daemon): stop it, and say which.
  for (const p of left) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  const list = left.map((p) => `  pid ${p.pid}: ${p.cmd}`).join("\n");
  const message = `The integration run left ${left.length} process(es) running; they were killed:\n${list}`;
  process.stderr.write(`${message}\n`);
  // vitest only logs a teardown's throw; under CI the run must fail.
  if (process.env.CI === "true") process.exitCode = 1;
}

/** Marks every process this run starts (tests, their children), so that strays() finds only those. */
const RUN_VAR = "CLAWFLEET_TEST_RUN";
const runId = `${process.pid}-${Date.now()}`;

/**
 * Processes this run started that are still alive: they carry RUN_VAR=runId and run in this checkout
 * (its scripts, its bin) or use its sandbox state. Not vitest's own, and not the hosts' sshds, which
 * restore() has already stopped or, when they were up before the run, kept. (A dockerd that
 * docker-restart.test.ts restarts carries no mark: ensure-docker.sh starts it with a clean env.)
 */
function strays(): { pid: number; cmd: string }[] {
  const root = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
  const out: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let cmd: string;
    let state: string;
    let environ: string[];
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
      state = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "")[0] ?? "";
      environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (state === "Z" || !environ.includes(`${RUN_VAR}=${runId}`) || cmd.includes("/vitest/") || cmd.includes("vitest run")) continue;
    if (/sshd -f \S+\/sbx-\d+\/sshd_config/.test(cmd)) continue;
    let cwd = "";
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      // no cwd to read: judged by its command line alone
    }
    const ours = cwd === root || cwd.startsWith(`${root}/`) || cmd.includes(`${root}/`) || cmd.includes(`${stateDir}/`);
    if (ours) out.push({ pid, cmd: cmd.slice(0, 200) });
  }
  return out;
}

function startSandbox(): string {
  // A preset reason is an explicit opt-out, e.g. on a laptop without root.
  const preset = process.env.CLAWFLEET_SANDBOX_UNAVAILABLE;
  if (preset) return preset;
  if (process.platform !== "linux") return `it needs Linux, this is ${process.platform}`;
  if (process.getuid?.() !== 0) return "it needs root (it creates the cfsandbox user and starts sshd)";
  // stdout too goes to stderr: test output stays clean.
  const started = Date.now();
  const run = spawnSync("bash", [script, "start", String(HOSTS)], { stdio: ["ignore", 2, 2], timeout: 600_000 });
  if (run.error) return `scripts/sandbox could not run: ${run.error.message}`;
  if (run.status !== 0) return `scripts/sandbox start ${HOSTS} failed (${run.signal ?? `exit ${run.status}`}): ${lastError(started) ?? "see above"}`;
  return "";
}

/** The reason scripts/sandbox gave, if it wrote one during this start. */
function lastError(since: number): string | null {
  const file = path.join(stateDir, "last-error");
  try {
    if (statSync(file).mtimeMs < since - 1000) return null;
    return readFileSync(file, "utf8").trim() || null;
  } catch {
    return null;
  }
}

function banner(reason: string): string {
  const line = "!".repeat(78);
  return [
    "",
    line,
    "!!  SANDBOX VPS UNAVAILABLE: integration tests that need it are SKIPPED.",
    `!!  Reason: ${reason}`,
    "!!  These tests prove SSH, Docker and provisioning for real; a green run without them",
    "!!  proves much less. Run as root on Linux with Docker (see scripts/sandbox), or set CI=true",
    "!!  to make this a failure.",
    line,
    "",
  ].join("\n");
}
