import { instancePaths } from "../../remote/commands/instance.js";
import { LABEL_CONFIG_HASH, LABEL_CUSTOMER, LABEL_PROJECT, LABEL_WORKING_DIR, type LiveContainer } from "../../remote/commands/inspect.js";
import type { HostRecord, InstanceRecord } from "../../store/types.js";

export type FindingKind =
  /** The DB has the instance; no container exists for it. */
  | "missing"
  /** The container's config-hash label differs from the DB's. */
  | "drifted"
  /** The container exists but is not running, and the DB does not say stopped. */
  | "stopped"
  /** The DB says stopped, but the container runs. */
  | "running"
  /** A clawfleet-labelled container no live instance accounts for. */
  | "orphan"
  /** A labelled container of another clawfleet install (its compose dir is outside the scanned hosts' roots). Never removed. */
  | "foreign"
  /** The instance's host could not be reached: its state is unknown. */
  | "unreachable"
  /** A site file in the host's proxy that no live instance on that host accounts for. */
  | "site-orphan"
  /** A live instance whose site file is missing (ingress configured): its public name is not served. */
  | "site-missing"
  /** A throwaway `cf-test-…` instance whose test-deploy run is gone; --fix destroys it with its data. */
  | "test-leftover";

export interface Finding {
  kind: FindingKind;
  customerId: string | null;
  /** The instance's host, or every host that sees the orphan's engine. */
  hosts: string[];
  detail: string;
  containerId?: string;
  containerName?: string;
}

/** What one Docker engine shows; sandbox hosts share an engine, real hosts have one each. */
export interface EngineView {
  hosts: HostRecord[];
  containers: LiveContainer[];
}

const SHOULD_RUN = new Set(["healthy", "unhealthy", "quarantined"]);

/** Compares the DB's live instances with what one engine runs. Pure. */
export function classifyEngine(engine: EngineView, rows: InstanceRecord[]): { findings: Finding[]; inSync: string[] } {
  const findings: Finding[] = [];
  const inSync: string[] = [];
  const claimed = new Set<string>();
  const hostById = new Map(engine.hosts.map((h) => [h.id, h]));
  for (const row of rows) {
    const host = hostById.get(row.hostId);
    if (!host || !(SHOULD_RUN.has(row.status) || row.status === "stopped")) continue;
    const own = engine.containers.filter((c) => c.labels[LABEL_PROJECT] === `cf-${row.customerId}` && c.labels[LABEL_CUSTOMER] === row.customerId);
    const dir = instancePaths(host.remoteRoot, row.customerId).dir;
    const mine = own.filter((c) => !c.labels[LABEL_WORKING_DIR] || c.labels[LABEL_WORKING_DIR] === dir);
    mine.forEach((c) => claimed.add(c.id));
    const c = mine.find((x) => x.running) ?? mine[0];
    const at = { customerId: row.customerId, hosts: [host.name] };
    if (!c) {
      findings.push({ kind: "missing", ...at, detail: `no container for ${row.customerId} (DB status ${row.status})` });
      continue;
    }
    const ref = { containerId: c.id.slice(0, 12), containerName: c.name };
    const live = c.labels[LABEL_CONFIG_HASH];
    let clean = true;
    if (live !== row.configHash) {
      findings.push({ kind: "drifted", ...at, ...ref, detail: `config hash ${short(live)} on the host, ${short(row.configHash)} in the DB` });
      clean = false;
    }
    if (!c.running && SHOULD_RUN.has(row.status)) {
      findings.push({ kind: "stopped", ...at, ...ref, detail: `container is ${c.state} (exit ${c.exitCode}) but the DB says ${row.status}` });
      clean = false;
    }
    if (c.running && row.status === "stopped") {
      findings.push({ kind: "running", ...at, ...ref, detail: "container runs but the instance was stopped" });
      clean = false;
    }
    if (clean) inSync.push(row.customerId);
  }
  const roots = engine.hosts.map((h) => h.remoteRoot.replace(/\/+$/, "") + "/instances/");
  for (const c of engine.containers) {
    if (claimed.has(c.id)) continue;
    const wd = c.labels[LABEL_WORKING_DIR];
    const foreign = wd !== undefined && !roots.some((r) => wd.startsWith(r));
    findings.push({
      kind: foreign ? "foreign" : "orphan",
      customerId: c.labels[LABEL_CUSTOMER] ?? null,
      hosts: engine.hosts.map((h) => h.name),
      containerId: c.id.slice(0, 12),
      containerName: c.name,
      detail: foreign ? `compose dir ${wd} is outside the remote roots of the hosts scanned; left alone` : orphanReason(c, rows, wd),
    });
  }
  return { findings, inSync };
}

function orphanReason(c: LiveContainer, rows: InstanceRecord[], wd: string | undefined): string {
  const customer = c.labels[LABEL_CUSTOMER];
  const row = rows.find((r) => r.customerId === customer);
  const how = wd ? `compose dir ${wd}` : "not started by compose (by hand?)";
  if (!customer) return `no customer label; ${how}`;
  if (!row) return `no instance ${customer} in the DB; ${how}`;
  return `instance ${customer} is ${row.status} and does not own this container; ${how}`;
}

function short(hash: string | null | undefined): string {
  return hash ? hash.slice(0, 12) : "(none)";
}
