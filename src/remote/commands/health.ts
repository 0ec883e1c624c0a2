import { composeScript } from "./compose.js";
import { restartOrUpLines } from "./lifecycle.js";
import { instancePaths } from "./instance.js";
import { shq } from "./quote.js";

export { parseSweep, type ContainerFacts, type ProbeFacts, type SweepOutput } from "./health-parse.js";

/** One instance a sweep asks a host about: its compose container is cf-<customerId>. */
export interface SweepTarget {
  customerId: string;
  /** Host port of the gateway, published on 127.0.0.1. */
  gatewayPort: number;
}

/** Seconds each /healthz request (and each Docker API request) may take. */
export const PROBE_TIMEOUT_S = 5;
/** The Engine API version the fast path asks for: Docker 20.10 and every later release serve it. */
export const DOCKER_API = "v1.41";

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

/** Only these inspect fields leave the host: never Config.Env, which holds the gateway token. */
const API_FIELDS = `^D\\|.*|"(Status|ExitCode|StartedAt|RestartCount)":("[^"]*"|-?[0-9]+)|"io\\.clawfleet\\.(managed|customer)":"[^"]*"`;

// Probes from one bash: a forked subshell per port, no exec, latency from $EPOCHREALTIME.
const BASH_PROBE = [
  'for p in "$@"; do (',
  "  s=$EPOCHREALTIME; code=0",
  '  if { exec 3<>"/dev/tcp/127.0.0.1/$p"; } 2>/dev/null; then',
  "    printf 'GET /healthz HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' >&3",
  `    read -r -t ${PROBE_TIMEOUT_S} _ code _ <&3 || code=0`,
  "  fi",
  '  echo "B|$p|${code:-0}|$s|$EPOCHREALTIME"',
  ") & done; wait",
].join("\n");

/**
 * The one command a sweep runs per host: the inspect facts of the instances' containers, then every
 * loopback /healthz at once. POSIX sh, no temp files, one line per fact (parsed by parseSweep).
 * Cheapest tools first, as this runs on customer hosts every few minutes: the Engine API through
 * curl (one process for all containers) rather than the docker CLI, and bash /dev/tcp probes
 * rather than curl. Fallbacks: `docker inspect`; curl --parallel, wget.
 */
export function sweepScript(targets: SweepTarget[], opts: { dockerSocket?: string } = {}): string {
  const names = targets.map((t) => shq("cf-" + t.customerId)).join(" ");
  const urls = targets.map((t) => shq(`http://d/${DOCKER_API}/containers/cf-${t.customerId}/json`)).join(" ");
  const ports = targets.map((t) => String(t.gatewayPort)).join(" ");
  if (targets.length === 0) return "echo 'V|2'\necho 'END|'";
  return [
    "echo 'V|2'",
    `sock=${shq(opts.dockerSocket ?? "/var/run/docker.sock")}`,
    'if [ -z "${DOCKER_HOST:-}" ] && [ -S "$sock" ] && [ -r "$sock" ] && [ -w "$sock" ] && command -v curl >/dev/null 2>&1; then',
    `  curl -s -m ${PROBE_TIMEOUT_S} --unix-socket "$sock" -w '\\nD|%{http_code}|%{url_effective}\\n' ${urls} 2>/dev/null | grep -oE ${shq(API_FIELDS)}`,
    // 2>&1: "No such object" lines tell a missing container from a Docker that cannot answer.
    `else docker inspect --format ${shq(INSPECT_FORMAT)} ${names} 2>&1; fi`,
    `ports=${shq(ports)}`,
    `if command -v bash >/dev/null 2>&1; then bash -c ${shq(BASH_PROBE)} _ $ports`,
    "elif command -v curl >/dev/null 2>&1; then",
    '  set --; for p in $ports; do set -- "$@" -o /dev/null "http://127.0.0.1:$p/healthz"; done',
    `  curl -s -Z --parallel-max 32 -m ${PROBE_TIMEOUT_S} -w 'H|%{http_code}|%{time_total}|%{url_effective}\\n' "$@" 2>/dev/null`,
    "elif command -v wget >/dev/null 2>&1; then",
    `  for p in $ports; do ( wget -q -T ${PROBE_TIMEOUT_S} -O /dev/null "http://127.0.0.1:$p/healthz" >/dev/null 2>&1; echo "W|$?|$p" ) & done; wait`,
    "else echo 'N|'; fi",
    "echo 'END|'",
  ].join("\n");
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
    ...restartOrUpLines(customerId),
  ].join("\n"));
}
