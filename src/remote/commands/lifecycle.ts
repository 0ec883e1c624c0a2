import { composeScript } from "./compose.js";
import { instancePaths } from "./instance.js";
import { LABEL_PROJECT } from "./inspect.js";
import { shq } from "./quote.js";
import { removeSiteLines } from "./ingress.js";
import { proxyPaths } from "../../domain/proxy-paths.js";

/** Exit status when another run holds the instance's lock (as provision.sh). */
export const EXIT_LOCKED = 75;
/** Exit status when the instance's files are not on the host. */
export const EXIT_NO_FILES = 66;
/** Exit status when the instance did not become healthy in time. */
export const EXIT_UNHEALTHY = 1;
const LOCK_WAIT_S = 60;

/** Takes provision.sh's per-instance flock, so lifecycle changes never overlap a provision run. */
export function lockLines(dir: string): string[] {
  return [
    `exec 9>>${shq(dir + "/.lock")}`,
    `if command -v flock >/dev/null 2>&1 && ! flock -w ${LOCK_WAIT_S} 9; then echo 'another clawfleet run holds the instance lock' >&2; exit ${EXIT_LOCKED}; fi`,
  ];
}

/** A locked compose script that first checks the instance's files are there. */
function lockedCompose(root: string, customerId: string, body: string[]): string {
  const { dir } = instancePaths(root, customerId);
  const check = `if [ ! -f ${shq(dir + "/docker-compose.yml")} ]; then echo 'the instance files are missing on the host' >&2; exit ${EXIT_NO_FILES}; fi`;
  return [check, composeScript(root, customerId, [...lockLines(dir), ...body].join("\n"))].join("\n");
}

/** Seconds one readiness probe of /healthz may take. */
const PROBE_TIMEOUT_S = 2;
// One GET /healthz from bash's /dev/tcp (no exec of curl per probe); $1 is the port.
const BASH_PROBE = `exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /healthz HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' >&3 && read -r -t ${PROBE_TIMEOUT_S} _ c _ <&3 && [ "$c" = 200 ]`;

/**
 * Waits until the gateway is ready, as provision.sh does: its loopback /healthz answers 200 and
 * Docker's health is not `unhealthy`. Probes every 0.1 s, so it never waits for Docker's
 * healthcheck interval. Without bash, curl or wget it falls back to Docker's health alone.
 * Prints `docker=<Docker's health or state>` and `state=healthy` when ready (exit 0), else
 * `state=<Docker's health or state>` and exits EXIT_UNHEALTHY after `timeoutSec`.
 */
export function waitReadyLines(customerId: string, gatewayPort: number, timeoutSec: number): string[] {
  // Plain docker, not `cfc ps`: Compose v1 costs a Python start per call.
  const running = `docker ps -q --filter ${shq(`label=${LABEL_PROJECT}=cf-${customerId}`)} --filter status=running`;
  return [
    ...probeLines(gatewayPort),
    `deadline=$(( $(date +%s) + ${Math.max(1, Math.ceil(timeoutSec))} )); n=0`,
    `docker_state() { cid=$(${running} | head -n 1); st=$( [ -n "$cid" ] && docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$cid" 2>/dev/null || echo missing); }`,
    "while :; do",
    // Ready is clawfleet's healthy (as a health sweep judges): running, /healthz 200, Docker not unhealthy.
    // The probe is a bash builtin socket; Docker is asked only once it answers, or once a second.
    '  if probe; then docker_state; if [ "$st" != unhealthy ] && [ "$st" != missing ]; then echo "docker=$st"; echo state=healthy; exit 0; fi',
    '  elif [ $((n % 10)) -eq 0 ]; then docker_state; if [ "$st" = healthy ]; then echo "docker=$st"; echo state=healthy; exit 0; fi; fi',
    `  if [ "$(date +%s)" -ge "$deadline" ]; then docker_state; echo "docker=$st"; echo "state=$st"; exit ${EXIT_UNHEALTHY}; fi`,
    // Every 0.1 s for the first 3 s, then every 0.5 s: a slow gateway's log is not flooded.
    "  n=$((n + 1)); if [ \"$n\" -le 30 ]; then t=0.1; else t=0.5; fi",
    '  sleep "$t" 2>/dev/null || sleep 1',
    "done",
  ];
}

/** Defines `probe`: one GET of the gateway's loopback /healthz, true on 200 (bash, else curl, else wget). */
function probeLines(gatewayPort: number): string[] {
  return [
    `port=${Math.trunc(gatewayPort)}`,
    `if command -v bash >/dev/null 2>&1; then probe() { bash -c ${shq(BASH_PROBE)} _ "$port" 2>/dev/null; }`,
    `elif command -v curl >/dev/null 2>&1; then probe() { curl -fs -m ${PROBE_TIMEOUT_S} -o /dev/null "http://127.0.0.1:$port/healthz"; }`,
    `elif command -v wget >/dev/null 2>&1; then probe() { wget -q -T ${PROBE_TIMEOUT_S} -O /dev/null "http://127.0.0.1:$port/healthz"; }`,
    "else probe() { false; }; fi",
  ];
}

/** One GET of the gateway's loopback /healthz on the host: prints `healthz=ok` or `healthz=fail`. */
export function healthzOnceCommand(gatewayPort: number): string {
  return [...probeLines(gatewayPort), "if probe; then echo healthz=ok; else echo healthz=fail; fi"].join("\n");
}

/** The project's container ids, running or not (plain docker: no Compose start-up). */
const projectIds = (customerId: string) => `ids=$(docker ps -aq --filter ${shq(`label=${LABEL_PROJECT}=cf-${customerId}`)})`;

/** Stops the container and keeps it, its volume and files. Plain `docker stop`: no Compose start-up. */
export function stopInstanceCommand(root: string, customerId: string): string {
  return lockedCompose(root, customerId, [projectIds(customerId), 'if [ -n "$ids" ]; then docker stop $ids >/dev/null; fi', "echo state=stopped"]);
}

/** Starts the instance (Compose re-creates the container only when it is gone), then waits until ready. */
export function startInstanceCommand(root: string, customerId: string, gatewayPort: number, healthTimeoutSec: number): string {
  return lockedCompose(root, customerId, [
    projectIds(customerId),
    'if [ -n "$ids" ]; then docker start $ids >/dev/null; else cfc up -d --remove-orphans >&2; fi',
    ...waitReadyLines(customerId, gatewayPort, healthTimeoutSec),
  ]);
}

/**
 * `docker restart` of the project's containers, or `cfc up -d` when they are gone: the common case
 * runs no Compose (each v1 run costs ~0.5 s of Python start-up). Needs `cfc` defined (composeScript).
 */
export function restartOrUpLines(customerId: string): string[] {
  return [projectIds(customerId), 'if [ -n "$ids" ]; then docker restart $ids >/dev/null; else cfc up -d --remove-orphans >&2; fi'];
}

/** Restarts the container, or brings it up if it is gone, then waits until ready. */
export function restartInstanceCommand(root: string, customerId: string, gatewayPort: number, healthTimeoutSec: number): string {
  return lockedCompose(root, customerId, [...restartOrUpLines(customerId), ...waitReadyLines(customerId, gatewayPort, healthTimeoutSec)]);
}

/** What destroy removes, by name, for the refusal message and the result. */
export function destroyTargets(root: string, customerId: string, keepData: boolean) {
  const project = `cf-${customerId}`;
  return {
    project,
    container: project,
    network: `${project}_default`,
    volume: keepData ? null : `${project}-data`,
    dir: instancePaths(root, customerId).dir,
    site: proxyPaths(root).site(customerId),
  };
}

/**
 * Removes the instance's containers and network (and its data volume unless keepData) with plain
 * docker, so it works when the compose file or Compose itself is gone; then removes the directory.
 * Prints `left.<kind>=<count>` so the caller can prove nothing remains.
 */
export function destroyCommand(root: string, customerId: string, keepData: boolean): string {
  const t = destroyTargets(root, customerId, keepData);
  const project = shq(`label=${LABEL_PROJECT}=${t.project}`);
  const volume = shq(`${t.project}-data`);
  return [
    "set -u",
    `dir=${shq(t.dir)}`,
    `if [ -d "$dir" ]; then ${lockLines(t.dir).join("; ")}; fi`,
    // The site first: its name stops being served before the gateway goes.
    ...removeSiteLines(root, customerId),
    `ids=$(docker ps -aq --filter ${project})`,
    // A graceful stop first lets the gateway flush what it keeps on the volume.
    'if [ -n "$ids" ]; then docker stop -t 10 $ids >/dev/null 2>&1 || true; docker rm -f $ids >/dev/null; fi',
    `nets=$(docker network ls -q --filter ${project})`,
    'if [ -n "$nets" ]; then docker network rm $nets >/dev/null; fi',
    keepData ? ":" : `if docker volume inspect ${volume} >/dev/null 2>&1; then docker volume rm ${volume} >/dev/null; fi`,
    'rm -rf "$dir"',
    `echo "left.containers=$(docker ps -aq --filter ${project} | wc -l)"`,
    `echo "left.networks=$(docker network ls -q --filter ${project} | wc -l)"`,
    keepData ? "echo left.volume=0" : `echo "left.volume=$(docker volume ls -q --filter name=${shq(`^${t.project}-data$`)} | wc -l)"`,
    'if [ -e "$dir" ]; then echo left.dir=1; else echo left.dir=0; fi',
  ].join("\n");
}

export interface DestroyReport {
  containers: number;
  networks: number;
  volume: number;
  dir: number;
  site: number;
}

export function parseDestroy(stdout: string): DestroyReport | null {
  const get = (k: string) => {
    const m = new RegExp(`^left\\.${k}=\\s*(\\d+)$`, "m").exec(stdout);
    return m ? Number(m[1]) : null;
  };
  const r = { containers: get("containers"), networks: get("networks"), volume: get("volume"), dir: get("dir"), site: get("site") };
  return Object.values(r).some((v) => v === null) ? null : (r as DestroyReport);
}

/** Removes orphan containers by id (never their volumes: an orphan's data may still matter). */
export function removeContainersCommand(ids: string[]): string {
  const safe = ids.filter((id) => /^[0-9a-f]{12,64}$/.test(id));
  if (safe.length === 0) return "true";
  return `docker rm -f ${safe.join(" ")} >/dev/null`;
}
