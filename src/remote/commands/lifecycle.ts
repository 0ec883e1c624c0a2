import { composeScript } from "./compose.js";
import { instancePaths } from "./instance.js";
import { LABEL_PROJECT } from "./inspect.js";
import { shq } from "./quote.js";

/** Exit status when another run holds the instance's lock (as provision.sh). */
export const EXIT_LOCKED = 75;
/** Exit status when the instance's files are not on the host. */
export const EXIT_NO_FILES = 66;
/** Exit status when the instance did not become healthy in time. */
export const EXIT_UNHEALTHY = 1;
const LOCK_WAIT_S = 60;

/** Takes provision.sh's per-instance flock, so lifecycle changes never overlap a provision run. */
function lockLines(dir: string): string[] {
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

/**
 * Polls Docker's health status of the gateway container until healthy or `timeoutSec` passes.
 * Prints `state=<status>`; exits 0 when healthy, else EXIT_UNHEALTHY.
 */
export function waitHealthyLines(customerId: string, timeoutSec: number): string[] {
  // Plain docker, not `cfc ps`: Compose v1 costs a Python start per call.
  const running = `docker ps -q --filter ${shq(`label=${LABEL_PROJECT}=cf-${customerId}`)} --filter status=running`;
  return [
    `deadline=$(( $(date +%s) + ${Math.max(1, Math.ceil(timeoutSec))} ))`,
    "while :; do",
    `  cid=$(${running} | head -n 1)`,
    `  st=$( [ -n "$cid" ] && docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$cid" 2>/dev/null || echo missing)`,
    '  if [ "$st" = healthy ]; then echo "state=$st"; exit 0; fi',
    `  if [ "$(date +%s)" -ge "$deadline" ]; then echo "state=$st"; exit ${EXIT_UNHEALTHY}; fi`,
    "  sleep 1",
    "done",
  ];
}

/** Stops the container and keeps it, its volume and files. */
export function stopInstanceCommand(root: string, customerId: string): string {
  return lockedCompose(root, customerId, ["cfc stop >&2", "echo state=stopped"]);
}

/** Starts the instance (re-creating the container if it is gone), then waits for health. */
export function startInstanceCommand(root: string, customerId: string, healthTimeoutSec: number): string {
  return lockedCompose(root, customerId, ["cfc up -d --remove-orphans >&2", ...waitHealthyLines(customerId, healthTimeoutSec)]);
}

/** Restarts the container, or brings it up if it is gone, then waits for health. */
export function restartInstanceCommand(root: string, customerId: string, healthTimeoutSec: number): string {
  return lockedCompose(root, customerId, [
    'if [ -n "$(cfc ps -q)" ]; then cfc restart >&2; else cfc up -d --remove-orphans >&2; fi',
    ...waitHealthyLines(customerId, healthTimeoutSec),
  ]);
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
}

export function parseDestroy(stdout: string): DestroyReport | null {
  const get = (k: string) => {
    const m = new RegExp(`^left\\.${k}=\\s*(\\d+)$`, "m").exec(stdout);
    return m ? Number(m[1]) : null;
  };
  const r = { containers: get("containers"), networks: get("networks"), volume: get("volume"), dir: get("dir") };
  return Object.values(r).some((v) => v === null) ? null : (r as DestroyReport);
}

/** Removes orphan containers by id (never their volumes: an orphan's data may still matter). */
export function removeContainersCommand(ids: string[]): string {
  const safe = ids.filter((id) => /^[0-9a-f]{12,64}$/.test(id));
  if (safe.length === 0) return "true";
  return `docker rm -f ${safe.join(" ")} >/dev/null`;
}
