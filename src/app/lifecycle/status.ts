import { HostKeyError } from "../../errors.js";
import type { PortSet } from "../../domain/ports.js";
import { LABEL_CONFIG_HASH } from "../../remote/commands/inspect.js";
import type { HostRecord, InstanceRecord, InstanceStatus } from "../../store/types.js";
import { tryDesired } from "../provision/desired.js";
import { publicUrl } from "../../domain/subdomain.js";
import type { SiteState } from "../../remote/commands/ingress.js";
import { configState, connect, inspectInstance, mainContainer, messageOf, mustGetInstance, type ConfigState } from "../instance-lookup.js";
import type { Deps } from "../ports.js";
import { backupSummary, type BackupSummary } from "../backup/summary.js";

export interface LiveView {
  reachable: boolean;
  error?: string;
  files: "present" | "missing" | "unknown";
  container: null | {
    id: string;
    name: string;
    state: string;
    running: boolean;
    health: string | null;
    startedAt: string | null;
    uptimeSec: number | null;
    restartCount: number;
    image: string;
    configHash: string | null;
    boundPorts: number;
    loopbackOnly: boolean;
  };
  /** More than one container in the project: something was started by hand. */
  extraContainers: number;
  /** The site file on the host and whether the host's proxy runs. */
  site?: SiteState;
}

export interface StatusResult {
  customerId: string;
  plan: string;
  host: string;
  status: InstanceStatus;
  statusReason: string | null;
  image: string;
  portSlot: number | null;
  ports: PortSet | null;
  /** Whether the plan publishes the slot's CDP range (plans.yaml cdpPorts); null when the plans cannot say. */
  cdpPublished: boolean | null;
  createdAt: string;
  updatedAt: string;
  expiresAt: string | null;
  health: { consecutiveFailures: number; restartCount: number; lastHealthAt: string | null; lastRestartAt: string | null; quarantinedAt: string | null };
  live: LiveView;
  /** The public site; null without an `ingress:` section or a subdomain. */
  site: null | {
    subdomain: string;
    publicUrl: string;
    /** Its site file is on the host and the proxy runs; null when the host could not be asked. */
    live: boolean | null;
  };
  /** The last good backup and its age, and whether the plan's schedule is behind. */
  backup: BackupSummary;
  config: {
    /** The container's config-hash label against the DB's. */
    state: ConfigState;
    recorded: string | null;
    live: string | null;
    /** What the current plans and templates would render; differs from recorded when an upgrade is due. */
    desired: string | null;
    outdated: boolean | null;
    note?: string;
  };
}

/** The DB state plus the live state from the host. Host key problems throw; an unreachable host is reported. */
export async function instanceStatus(deps: Deps, customerId: string, opts: { plansFile?: string } = {}): Promise<StatusResult> {
  const { row, host } = await mustGetInstance(deps, customerId);
  const live = await liveView(deps, host, row);
  const { desired, plans, problem } = await tryDesired(deps, host, row, opts.plansFile);
  const ingress = plans?.ingress ?? null;
  const backup = await backupSummary(deps, row, plans);
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    customerId: row.customerId,
    plan: row.plan,
    host: host.name,
    status: row.status,
    statusReason: row.statusReason,
    image: row.image,
    portSlot: row.portSlot,
    ports: desired?.ports ?? null,
    cdpPublished: desired ? desired.spec.cdpPorts : null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    expiresAt: iso(row.expiresAt),
    health: {
      consecutiveFailures: row.consecutiveFailures,
      restartCount: row.restartCount,
      lastHealthAt: iso(row.lastHealthAt),
      lastRestartAt: iso(row.lastRestartAt),
      quarantinedAt: iso(row.quarantinedAt),
    },
    live: live.view,
    site: ingress && row.subdomain
      ? { subdomain: row.subdomain, publicUrl: publicUrl(row.subdomain, ingress.domain), live: live.view.site ? live.view.site.site === "present" && live.view.site.proxy === "running" : null }
      : null,
    backup,
    config: {
      state: live.config,
      recorded: row.configHash,
      live: live.view.container?.configHash ?? null,
      desired: desired?.configHash ?? null,
      outdated: desired && row.configHash ? desired.configHash !== row.configHash : null,
      ...(problem ? { note: `cannot compute the desired config: ${problem}` } : {}),
    },
  };
}

async function liveView(deps: Deps, host: HostRecord, row: InstanceRecord): Promise<{ view: LiveView; config: ConfigState }> {
  const customerId = row.customerId;
  try {
    const shell = await connect(deps, host, customerId);
    const report = await inspectInstance(deps, shell, host, customerId);
    const c = mainContainer(report.containers);
    const now = deps.clock.now().getTime();
    const view: LiveView = {
      reachable: true,
      files: report.files,
      extraContainers: Math.max(0, report.containers.length - 1),
      site: report.site,
      container: c && {
        id: c.id.slice(0, 12),
        name: c.name,
        state: c.state,
        running: c.running,
        health: c.health,
        startedAt: c.startedAt,
        uptimeSec: c.running && c.startedAt ? Math.max(0, Math.round((now - Date.parse(c.startedAt)) / 1000)) : null,
        restartCount: c.restartCount,
        image: c.image,
        configHash: c.labels[LABEL_CONFIG_HASH] ?? null,
        boundPorts: c.ports.length,
        loopbackOnly: c.ports.every((p) => p.startsWith("127.0.0.1:")),
      },
    };
    return { view, config: configState(row, c) };
  } catch (err) {
    if (err instanceof HostKeyError) throw err;
    return { view: { reachable: false, error: messageOf(err), files: "unknown", container: null, extraContainers: 0 }, config: "unknown" };
  }
}
