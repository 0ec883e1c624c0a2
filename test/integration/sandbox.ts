/** Helpers for integration tests that run against the sandbox VPS fleet (scripts/sandbox). */
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, inject, onTestFinished } from "vitest";

/** One entry of `<sandbox dir>/hosts.json`, as written by scripts/sandbox. */
export interface SandboxHost {
  name: string;
  /** Where to connect: the delay proxy (127.0.2.i) after `start --rtt MS`, else the sshd. */
  address: string;
  port: number;
  user: string;
  /** Absolute path of the client's ed25519 key (no passphrase). */
  identityFile: string;
  /** "SHA256:…", as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** "ssh-ed25519 AAAA…", for known_hosts. */
  hostKey: string;
  remoteRoot: string;
  directAddress: string;
  directPort: number;
  /** The emulated round trip when address is a delay proxy, else 0. */
  rttMs: number;
  /** The host's own 127.0.1.x, for its ingress proxy's 80/443. */
  ingressAddress: string;
  /** The locally built Caddy image (official caddy:2 layout) for ingress. */
  proxyImage: string;
}

export interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
export const sandboxDir = resolve(process.env.CLAWFLEET_SANDBOX_DIR ?? join(repoRoot, ".sandbox"));

/** Why the sandbox cannot be used, or "" when it is up (decided once, by global-setup.ts). */
export function sandboxUnavailableReason(): string {
  let provided: string | undefined;
  try {
    provided = inject("sandboxUnavailable");
  } catch {
    provided = undefined; // not inside a vitest worker
  }
  return provided ?? process.env.CLAWFLEET_SANDBOX_UNAVAILABLE ?? "";
}

export function sandboxAvailable(): boolean {
  return sandboxUnavailableReason() === "";
}

/** The running sandbox hosts (sbx-1, sbx-2, …), or [] when the sandbox is unavailable. */
export function sandboxHosts(): SandboxHost[] {
  if (!sandboxAvailable()) return [];
  return JSON.parse(readFileSync(join(sandboxDir, "hosts.json"), "utf8")) as SandboxHost[];
}

/** `describe` when the sandbox is up, `describe.skip` otherwise. */
export const describeSandbox: typeof describe.skip = sandboxAvailable() ? describe : describe.skip;

/** Runs a local bash command. A non-zero exit is data, not an exception. */
export function sh(cmd: string, opts: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<ShResult> {
  return new Promise((done, fail) => {
    const child = spawn("bash", ["-c", cmd], { stdio: ["pipe", "pipe", "pipe"], timeout: opts.timeoutMs ?? 120_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", fail);
    child.on("close", (code, signal) => done({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
    child.stdin.on("error", () => {}); // the command may exit without reading its input
    child.stdin.end(opts.input ?? "");
  });
}

/** Like sh, but returns stdout and throws (with stderr) on a non-zero exit. */
export async function shOk(cmd: string, opts: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<string> {
  const r = await sh(cmd, opts);
  if (r.code !== 0) throw new Error(`\`${cmd}\` exited with ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Runs scripts/sandbox (e.g. ["rekey", "3"]); it rewrites hosts.json, so re-read sandboxHosts(). */
export function runSandbox(args: string[]): Promise<ShResult> {
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  return sh(`'${repoRoot}/scripts/sandbox' ${quoted}`, { timeoutMs: 300_000 });
}

/** The known_hosts line pinning a host's key at the address tests connect to. */
export function knownHostsLine(h: SandboxHost): string {
  return `[${h.address}]:${h.port} ${h.hostKey}`;
}

/** OpenSSH client flags for a host with strict checking against the given known_hosts file. */
export function sshFlags(h: SandboxHost, knownHostsFile: string): string {
  return [
    `-i '${h.identityFile}' -p ${h.port} -o IdentitiesOnly=yes -o BatchMode=yes`,
    `-o StrictHostKeyChecking=yes -o UserKnownHostsFile='${knownHostsFile}'`,
  ].join(" ");
}

/** Stops a local sshd process (the sandbox runs here) until the test ends, even by timeout. */
export function freeze(pid: number): void {
  process.kill(pid, "SIGSTOP");
  onTestFinished(() => {
    for (const sig of ["SIGCONT", "SIGTERM"] as const) {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  });
}

/**
 * Waits until Docker's own healthcheck has run and says healthy. clawfleet reports an instance ready
 * as soon as its /healthz answers 200, which is usually before Docker's first check (one interval
 * after start), so tests that assert Docker's verdict wait for it here.
 */
export async function untilDockerHealthy(container: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      last = execFileSync("docker", ["inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}", container], { encoding: "utf8" }).trim();
    } catch {
      last = "missing";
    }
    if (last === "healthy") return;
    if (last === "unhealthy" || Date.now() > deadline) throw new Error(`${container}: Docker health is ${last}, not healthy`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
