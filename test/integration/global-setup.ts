/**
 * Vitest globalSetup for the integration project: brings up the sandbox VPS fleet with
 * `scripts/sandbox start 3`. When that is impossible (not root, no Docker...) it warns loudly and
 * the sandbox tests skip; under CI=true it fails the run instead. It never stops the sandbox:
 * other runs may share it, and a warm sandbox makes the next run fast.
 */
import { spawnSync } from "node:child_process";
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

export default function setup(project: TestProject): void {
  const reason = startSandbox();
  project.provide("sandboxUnavailable", reason);
  if (reason === "") return;
  // Workers spawned after this point inherit it, as a fallback to inject().
  process.env.CLAWFLEET_SANDBOX_UNAVAILABLE = reason;
  if (process.env.CI === "true") throw new Error(`The sandbox VPS is required under CI=true: ${reason}`);
  process.stderr.write(banner(reason));
}

function startSandbox(): string {
  // A preset reason is an explicit opt-out, e.g. on a laptop without root.
  const preset = process.env.CLAWFLEET_SANDBOX_UNAVAILABLE;
  if (preset) return preset;
  if (process.platform !== "linux") return `it needs Linux, this is ${process.platform}`;
  if (process.getuid?.() !== 0) return "it needs root (it creates the cfsandbox user and starts sshd)";
  // stdout too goes to stderr: test output stays clean.
  const run = spawnSync("bash", [script, "start", String(HOSTS)], { stdio: ["ignore", 2, 2], timeout: 600_000 });
  if (run.error) return `scripts/sandbox could not run: ${run.error.message}`;
  if (run.status !== 0) return `scripts/sandbox start ${HOSTS} failed (${run.signal ?? `exit ${run.status}`}), see above`;
  return "";
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
