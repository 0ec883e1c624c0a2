import { composeScript } from "./compose.js";
import { instancePaths } from "./instance.js";
import { shq } from "./quote.js";

/** One instance a sweep asks a host about: its compose container is cf-<customerId>. */
export interface SweepTarget {
  customerId: string;
  /** Host port of the gateway, published on 127.0.0.1. */
  gatewayPort: number;
}

/** What `docker inspect` said about one container. */
export interface ContainerFacts {
  customerId: string;
  managed: boolean;
  state: string;
  /** Docker's own health: healthy, unhealthy, starting, or none. */
  dockerHealth: string;
  restartCount: number;
  startedAt: string;
  exitCode: number;
}

/** One loopback GET /healthz. `code` 0 means no HTTP answer (refused, reset or timed out). */
export interface ProbeFacts {
  code: number;
  latencyMs: number | null;
  via: "curl" | "wget" | "bash";
}

export interface SweepOutput {
  containers: Map<string, ContainerFacts>;
  /** Customers whose container Docker says does not exist. */
  missing: Set<string>;
  probes: Map<number, ProbeFacts>;
  /** Docker output that was neither a container nor a "no such" line: daemon down, no permission… */
  dockerError: string | null;
  /** The host has no curl, wget or bash to probe with. */
  noProbeTool: boolean;
  /** The script reached its end marker; without it, missing answers are unknown, not failures. */
  complete: boolean;
}

/** Seconds each /healthz request may take. */
export const PROBE_TIMEOUT_S = 5;

const INSPECT_FORMAT = [
  "C",
  '{{index .Config.Labels "io.clawfleet.managed"}}',
  '{{index .Config.Labels "io.clawfleet.customer"}}',
  "{{.State.Status}}",
  "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}",
  "{{.RestartCount}}",
  "{{.State.StartedAt}}",
  "{{.State.ExitCode}}",
].join("|");

/**
 * The one command a sweep runs per host: a single `docker inspect` of the instances' containers, then
 * every loopback /healthz at once (curl --parallel; else wget or bash /dev/tcp in background jobs).
 * POSIX sh, no temp files, one line per fact.
 */
export function sweepScript(targets: SweepTarget[]): string {
  const names = targets.map((t) => shq("cf-" + t.customerId)).join(" ");
  const ports = targets.map((t) => String(t.gatewayPort)).join(" ");
  const lines = ["echo 'V|1'"];
  if (targets.length > 0) {
    lines.push(
      // 2>&1: "No such object" lines tell a missing container from a Docker that cannot answer.
      `docker inspect --format ${shq(INSPECT_FORMAT)} ${names} 2>&1`,
      `ports=${shq(ports)}`,
      ...probeLines(),
    );
  }
  lines.push("echo 'END|'");
  return lines.join("\n");
}

function probeLines(): string[] {
  const t = PROBE_TIMEOUT_S;
  return [
    "if command -v curl >/dev/null 2>&1; then",
    '  set --; for p in $ports; do set -- "$@" -o /dev/null "http://127.0.0.1:$p/healthz"; done',
    `  out=$(curl -s -Z --parallel-max 32 -m ${t} -w 'H|%{http_code}|%{time_total}|%{url_effective}\\n' "$@" 2>/dev/null); rc=$?`,
    // Exit 2 with no output: this curl predates --parallel (7.66); ask one at a time.
    '  if [ "$rc" = 2 ] && [ -z "$out" ]; then',
    `    for p in $ports; do curl -s -o /dev/null -m ${t} -w 'H|%{http_code}|%{time_total}|%{url_effective}\\n' "http://127.0.0.1:$p/healthz" 2>/dev/null; done`,
    '  else printf "%s\\n" "$out"; fi',
    "elif command -v wget >/dev/null 2>&1; then",
    `  for p in $ports; do ( wget -q -T ${t} -O /dev/null "http://127.0.0.1:$p/healthz" >/dev/null 2>&1; echo "W|$?|$p" ) & done; wait`,
    "elif command -v bash >/dev/null 2>&1; then",
    "  for p in $ports; do ( echo \"B|$(timeout " + t + " bash -c 'exec 3<>\"/dev/tcp/127.0.0.1/$1\" && printf \"GET /healthz HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n\" >&3 && read -r _ code _ <&3 && echo \"$code\"' _ \"$p\" 2>/dev/null)|$p\" ) & done; wait",
    "else echo 'N|'; fi",
  ];
}

/** Parses the script's stdout. Never throws: unknown lines become dockerError text. */
export function parseSweep(stdout: string): SweepOutput {
  const out: SweepOutput = { containers: new Map(), missing: new Set(), probes: new Map(), dockerError: null, noProbeTool: false, complete: false };
  const errors: string[] = [];
  for (const raw of stdout.split("\n")) {
    const line = raw.trimEnd();
    if (line === "" || line === "V|1") continue;
    if (line === "END|") out.complete = true;
    else if (line === "N|") out.noProbeTool = true;
    else if (!parseFactLine(line, out)) errors.push(line);
  }
  if (errors.length > 0) out.dockerError = errors.slice(0, 5).join("; ").slice(0, 500);
  return out;
}

function parseFactLine(line: string, out: SweepOutput): boolean {
  const f = line.split("|");
  const missing = /No such (?:object|container): cf-(\S+)/.exec(line);
  if (missing) {
    out.missing.add(missing[1]!);
    return true;
  }
  if (f[0] === "C" && f.length === 8) {
    out.containers.set(f[2]!, {
      customerId: f[2]!, managed: f[1] === "true", state: f[3]!, dockerHealth: f[4]!,
      restartCount: Number(f[5]) || 0, startedAt: f[6]!, exitCode: Number(f[7]) || 0,
    });
    return true;
  }
  if (f[0] === "H" && f.length === 4) {
    const port = portOfUrl(f[3]!);
    if (port === null) return false;
    const seconds = Number(f[2]);
    out.probes.set(port, { code: Number(f[1]) || 0, latencyMs: Number.isFinite(seconds) ? Math.round(seconds * 1000) : null, via: "curl" });
    return true;
  }
  if ((f[0] === "W" || f[0] === "B") && f.length === 3) {
    const port = Number(f[2]);
    if (!Number.isInteger(port)) return false;
    // wget exits 0 on 2xx and 8 on any other HTTP status; bash prints the status code.
    const code = f[0] === "W" ? (f[1] === "0" ? 200 : f[1] === "8" ? 500 : 0) : Number(f[1]) || 0;
    out.probes.set(port, { code, latencyMs: null, via: f[0] === "W" ? "wget" : "bash" });
    return true;
  }
  return false;
}

function portOfUrl(url: string): number | null {
  const m = /^http:\/\/127\.0\.0\.1:(\d+)\//.exec(url);
  return m ? Number(m[1]) : null;
}

/** Exit status of the restart when provision or a lifecycle command holds the instance's lock. */
export const RESTART_LOCKED = 75;
const RESTART_LOCK_WAIT_S = 10;

/**
 * The policy's restart: `compose restart`, or `up -d` when the container is gone, under the same
 * per-instance flock as provision.sh so it never lands in the middle of a provision or upgrade.
 */
export function healthRestartCommand(root: string, customerId: string): string {
  const lock = instancePaths(root, customerId).dir + "/.lock";
  return composeScript(root, customerId, [
    `exec 9>>${shq(lock)}`,
    `if command -v flock >/dev/null 2>&1 && ! flock -w ${RESTART_LOCK_WAIT_S} 9; then echo 'another clawfleet run holds the instance lock' >&2; exit ${RESTART_LOCKED}; fi`,
    'if [ -n "$(cfc ps -q)" ]; then cfc restart; else cfc up -d --remove-orphans; fi',
  ].join("\n"));
}
