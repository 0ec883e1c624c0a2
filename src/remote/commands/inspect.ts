import { shq } from "./quote.js";
import { instancePaths } from "./instance.js";
import { listSitesLines, parseSiteState, siteStateLines, type SiteState } from "./ingress.js";

/** One container as `docker inspect` sees it, reduced to what status and reconcile need. */
export interface LiveContainer {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  /** created, running, paused, restarting, exited, dead. */
  state: string;
  running: boolean;
  /** healthy, unhealthy, starting, or null without a healthcheck. */
  health: string | null;
  failingStreak: number;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number;
  /** Docker's own restart counter (restart policy), not clawfleet's. */
  restartCount: number;
  /** "127.0.0.1:18800->18789/tcp" style bindings. */
  ports: string[];
}

// One JSON object per container per line. Only whole sub-objects and JSON field names: docker falls
// back to the raw JSON map when a typed field is missing (.Id is .ID there), and a map has no
// State.Health without a healthcheck. Never .Config.Env: it holds the secrets.
const FORMAT =
  '{"id":{{json .Id}},"name":{{json .Name}},"image":{{json .Config.Image}},"labels":{{json .Config.Labels}},' +
  '"state":{{json .State}},"restartCount":{{json .RestartCount}},"ports":{{json .HostConfig.PortBindings}}}';

/** Prints `container=<json>` for each id in $ids (word-split on purpose: they are hex ids). */
const INSPECT_IDS = `if [ -n "$ids" ]; then docker inspect --format ${shq("container=" + FORMAT)} $ids || true; fi`;

export const LABEL_MANAGED = "io.clawfleet.managed";
export const LABEL_CUSTOMER = "io.clawfleet.customer";
export const LABEL_CONFIG_HASH = "io.clawfleet.config-hash";
export const LABEL_PROJECT = "com.docker.compose.project";
export const LABEL_WORKING_DIR = "com.docker.compose.project.working_dir";

/** One instance: its compose project's containers, and whether its files are on the host. */
export function inspectInstanceCommand(root: string, customerId: string): string {
  const { dir } = instancePaths(root, customerId);
  return [
    "set -u",
    `if [ -f ${shq(dir + "/docker-compose.yml")} ]; then echo files=present; else echo files=missing; fi`,
    `ids=$(docker ps -aq --filter ${shq(`label=${LABEL_PROJECT}=cf-${customerId}`)})`,
    INSPECT_IDS,
    ...siteStateLines(root, customerId),
  ].join("\n");
}

/**
 * Every clawfleet-labelled container on the host's engine, plus the engine's id (hosts may share one);
 * with `root`, also the site files of the host's proxy.
 */
export function listManagedCommand(root?: string): string {
  return [
    "set -u",
    `echo "engine=$(docker info --format '{{.ID}}' 2>/dev/null)"`,
    `ids=$(docker ps -aq --filter ${shq(`label=${LABEL_MANAGED}=true`)})`,
    INSPECT_IDS,
    ...(root ? listSitesLines(root) : []),
  ].join("\n");
}

export interface InspectReport {
  /** Whether the instance's docker-compose.yml is on the host (inspectInstanceCommand only). */
  files: "present" | "missing" | "unknown";
  engine: string | null;
  containers: LiveContainer[];
  /** The instance's site file and the host's proxy (inspectInstanceCommand only). */
  site: SiteState;
}

export function parseInspect(stdout: string): InspectReport {
  const files = /^files=(present|missing)$/m.exec(stdout)?.[1] as "present" | "missing" | undefined;
  const engine = /^engine=(\S+)$/m.exec(stdout)?.[1] ?? null;
  const containers: LiveContainer[] = [];
  for (const m of stdout.matchAll(/^container=(\{.*\})\s*$/gm)) {
    const c = toContainer(m[1]!);
    if (c) containers.push(c);
  }
  return { files: files ?? "unknown", engine, containers, site: parseSiteState(stdout) };
}

function toContainer(text: string): LiveContainer | null {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  const time = (v: unknown) => (typeof v === "string" && !v.startsWith("0001-") ? v : null);
  const state = (raw.state && typeof raw.state === "object" ? raw.state : {}) as Record<string, unknown>;
  const health = (state.Health && typeof state.Health === "object" ? state.Health : null) as Record<string, unknown> | null;
  return {
    id: str(raw.id),
    name: str(raw.name).replace(/^\//, ""),
    image: str(raw.image),
    labels: (raw.labels && typeof raw.labels === "object" ? raw.labels : {}) as Record<string, string>,
    state: str(state.Status),
    running: state.Running === true,
    health: health && typeof health.Status === "string" ? health.Status : null,
    failingStreak: Number(health?.FailingStreak ?? 0),
    startedAt: time(state.StartedAt),
    finishedAt: time(state.FinishedAt),
    exitCode: Number(state.ExitCode ?? 0),
    restartCount: Number(raw.restartCount ?? 0),
    ports: portList(raw.ports),
  };
}

function portList(bindings: unknown): string[] {
  if (!bindings || typeof bindings !== "object") return [];
  const out: string[] = [];
  for (const [inner, list] of Object.entries(bindings as Record<string, { HostIp?: string; HostPort?: string }[] | null>)) {
    for (const b of list ?? []) out.push(`${b.HostIp || "0.0.0.0"}:${b.HostPort}->${inner}`);
  }
  return out;
}
