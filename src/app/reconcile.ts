import pLimit from "p-limit";
import { HostKeyError } from "../errors.js";
import { checkCustomerId } from "../domain/ids.js";
import { LABEL_CUSTOMER, listManagedCommand, parseInspect, type LiveContainer } from "../remote/commands/inspect.js";
import { removeContainersCommand, stopInstanceCommand } from "../remote/commands/lifecycle.js";
import type { HostRecord, InstanceRecord } from "../store/types.js";
import { step } from "./events.js";
import { audit, targetOf } from "./hosts.js";
import { messageOf } from "./instance-lookup.js";
import { classifyEngine, type EngineView, type Finding } from "./reconcile-classify.js";
import { startInstance } from "./lifecycle.js";
import { reprovision } from "./reprovision.js";
import type { Deps } from "./ports.js";

export interface ReconcileInput {
  /** Re-provision missing and drifted instances, start stopped ones, stop ones that should be stopped. */
  fix?: boolean;
  /** Remove orphan containers (never their volumes). */
  removeOrphans?: boolean;
  /** Only these customers (their instances and any container labelled with them). */
  customerIds?: string[];
  host?: string;
  plansFile?: string;
}

export interface HostScan {
  name: string;
  reachable: boolean;
  error?: string;
  /** Docker's engine id; hosts that share one (the sandbox) are compared as one. */
  engine: string | null;
  containers: number;
}

export interface ReconcileFinding extends Finding {
  /** What --fix or --remove-orphans did: "re-provisioned", "started", "removed"…; absent when nothing was tried. */
  action?: string;
  fixed?: boolean;
  error?: string;
  /** Only when a fix had to issue a new token (the host's .env was gone). Shown once. */
  gatewayToken?: string;
}

export interface ReconcileResult {
  hosts: HostScan[];
  findings: ReconcileFinding[];
  inSync: string[];
  /** Findings that still need attention (foreign containers are informational). */
  unresolved: number;
}

const PARALLEL_HOSTS = 16;

/** Compares the DB with every host's clawfleet-labelled containers; optionally repairs. */
export async function reconcile(deps: Deps, input: ReconcileInput = {}): Promise<ReconcileResult> {
  const only = input.customerIds?.length ? new Set(input.customerIds.map((c) => checkCustomerId(c))) : null;
  const allHosts = await deps.store.hosts.list();
  const hosts = input.host ? allHosts.filter((h) => h.name === input.host) : allHosts;
  const rows = (await deps.store.instances.list({ includeDestroyed: true })).filter((r) => !only || only.has(r.customerId));
  const scanLimit = pLimit(PARALLEL_HOSTS);
  const scans = await step(deps.onEvent, "reconcile", { detail: (s) => `${s.length} host(s)` }, () => Promise.all(hosts.map((h) => scanLimit(() => scanHost(deps, h)))));
  const engines = groupByEngine(scans, only);
  const findings: ReconcileFinding[] = [];
  const inSync: string[] = [];
  for (const engine of engines.values()) {
    const res = classifyEngine(engine, rows);
    findings.push(...res.findings);
    inSync.push(...res.inSync);
  }
  for (const scan of scans.filter((s) => !s.reachable)) {
    for (const r of rows.filter((r) => r.hostId === scan.host.id && r.status !== "destroyed")) {
      findings.push({ kind: "unreachable", customerId: r.customerId, hosts: [scan.host.name], detail: `host ${scan.host.name} is unreachable: ${scan.error ?? "?"}` });
    }
  }
  const limit = pLimit(4);
  const ctx = { input, rows, hosts: allHosts, engines };
  await Promise.all([...byCustomer(findings).values()].map((list) => limit(() => actInOrder(deps, list, ctx))));
  const unresolved = findings.filter((f) => f.kind !== "foreign" && !f.fixed).length + scans.filter((s) => !s.reachable).length;
  return {
    hosts: scans.map((s) => ({ name: s.host.name, reachable: s.reachable, error: s.error, engine: s.engine, containers: s.containers.length })),
    findings,
    inSync: inSync.sort(),
    unresolved,
  };
}

interface Scan {
  host: HostRecord;
  reachable: boolean;
  error?: string;
  engine: string | null;
  containers: LiveContainer[];
}

async function scanHost(deps: Deps, host: HostRecord): Promise<Scan> {
  try {
    const shell = await deps.connector.shell(targetOf(host));
    const res = await shell.exec(listManagedCommand(), { timeoutMs: 60_000 });
    if (res.code !== 0) return { host, reachable: false, error: `listing containers failed (exit ${res.code}): ${res.stderr.trim().slice(-300)}`, engine: null, containers: [] };
    const report = parseInspect(res.stdout);
    return { host, reachable: true, engine: report.engine, containers: report.containers };
  } catch (err) {
    if (err instanceof HostKeyError) await audit(deps, "host.key-refused", host.name, "refused", err.message);
    return { host, reachable: false, error: messageOf(err), engine: null, containers: [] };
  }
}

function groupByEngine(scans: Scan[], only: Set<string> | null): Map<string, EngineView & { via: HostRecord }> {
  const engines = new Map<string, EngineView & { via: HostRecord }>();
  for (const s of scans.filter((x) => x.reachable)) {
    const key = s.engine ? `engine:${s.engine}` : `host:${s.host.name}`;
    const group = engines.get(key) ?? { hosts: [], containers: [], via: s.host };
    group.hosts.push(s.host);
    for (const c of s.containers) {
      if (only && !only.has(c.labels[LABEL_CUSTOMER] ?? "")) continue;
      if (!group.containers.some((x) => x.id === c.id)) group.containers.push(c);
    }
    engines.set(key, group);
  }
  return engines;
}

interface ActContext {
  input: ReconcileInput;
  rows: InstanceRecord[];
  hosts: HostRecord[];
  engines: Map<string, EngineView & { via: HostRecord }>;
}

/** Instance findings grouped per customer (fixed one after another); each orphan on its own. */
function byCustomer(findings: ReconcileFinding[]): Map<string, ReconcileFinding[]> {
  const groups = new Map<string, ReconcileFinding[]>();
  findings.forEach((f, i) => {
    const key = f.kind === "orphan" || f.kind === "foreign" ? `#${i}` : `c:${f.customerId}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  });
  return groups;
}

/** A re-provision also starts the container, so it settles a "stopped" finding of the same instance. */
async function actInOrder(deps: Deps, list: ReconcileFinding[], ctx: ActContext): Promise<void> {
  for (const f of list) {
    const settled = list.find((o) => o !== f && o.action === "re-provisioned" && o.fixed);
    if (settled && (f.kind === "stopped" || f.kind === "drifted")) {
      Object.assign(f, { action: "re-provisioned", fixed: true });
      continue;
    }
    await act(deps, f, ctx);
  }
}

async function act(deps: Deps, f: ReconcileFinding, { input, rows, hosts, engines }: ActContext): Promise<void> {
  if (f.kind === "unreachable") return;
  const row = rows.find((r) => r.customerId === f.customerId);
  const host = row ? hosts.find((h) => h.id === row.hostId) : undefined;
  try {
    if (f.kind === "orphan" && input.removeOrphans) {
      const via = [...engines.values()].find((e) => e.hosts.some((h) => f.hosts.includes(h.name)))!.via;
      const shell = await deps.connector.shell(targetOf(via));
      const full = [...engines.values()].flatMap((e) => e.containers).find((c) => c.id.startsWith(f.containerId!))!;
      const res = await shell.exec(removeContainersCommand([full.id]), { timeoutMs: 60_000 });
      if (res.code !== 0) throw new Error(`docker rm failed (exit ${res.code}): ${res.stderr.trim().slice(-300)}`);
      Object.assign(f, { action: "removed", fixed: true });
      await audit(deps, "reconcile.remove-orphan", f.containerName ?? f.containerId!, "ok", `${f.detail}; via ${via.name}`);
      return;
    }
    if (!input.fix || !row || !host || f.kind === "orphan" || f.kind === "foreign") return;
    if ((f.kind === "missing" || f.kind === "drifted") && row.status === "stopped") {
      Object.assign(f, { action: "skipped: stopped on purpose; `clawfleet start` re-creates it" });
      return;
    }
    if (f.kind === "missing" || f.kind === "drifted") {
      const shell = await deps.connector.shell(targetOf(host));
      const out = await reprovision(deps, shell, { row, host, plan: row.plan, image: row.image, token: "keep", plansFile: input.plansFile });
      await deps.store.instances.update(row.customerId, { configHash: out.configHash, tokenHash: out.tokenHash, status: "healthy", statusReason: null, consecutiveFailures: 0 });
      Object.assign(f, { action: "re-provisioned", fixed: true }, out.newToken ? { gatewayToken: out.newToken } : {});
      await audit(deps, "reconcile.fix", row.customerId, "ok", `${f.kind}: re-provisioned${out.newToken ? " with a new token (the old one was gone)" : ""}`);
    } else if (f.kind === "stopped") {
      await startInstance(deps, row.customerId, { plansFile: input.plansFile });
      Object.assign(f, { action: "started", fixed: true });
    } else if (f.kind === "running") {
      const shell = await deps.connector.shell(targetOf(host));
      const res = await shell.exec(stopInstanceCommand(host.remoteRoot, row.customerId), { timeoutMs: 60_000 });
      if (res.code !== 0) throw new Error(`stop failed (exit ${res.code}): ${res.stderr.trim().slice(-300)}`);
      Object.assign(f, { action: "stopped", fixed: true });
      await audit(deps, "reconcile.fix", row.customerId, "ok", "running but stopped in the DB: stopped");
    }
  } catch (err) {
    Object.assign(f, { action: f.action ?? "fix failed", fixed: false, error: messageOf(err).split("\n")[0] });
    await audit(deps, f.kind === "orphan" ? "reconcile.remove-orphan" : "reconcile.fix", f.customerId ?? f.containerName ?? "?", "failed", messageOf(err).slice(0, 500));
  }
}
