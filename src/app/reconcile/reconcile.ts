import pLimit from "p-limit";
import { HostKeyError } from "../../errors.js";
import { checkCustomerId } from "../../domain/ids.js";
import { LABEL_CUSTOMER, listManagedCommand, parseInspect, type LiveContainer } from "../../remote/commands/inspect.js";
import type { HostRecord, InstanceRecord } from "../../store/types.js";
import { step } from "../events.js";
import { targetOf } from "../hosts/hosts.js";
import { audit } from "../audit/record.js";
import { messageOf } from "../instance-lookup.js";
import { classifyEngine, type Finding } from "./classify.js";
import { actInOrder, byCustomer, type EngineGroup } from "./fix.js";
import type { Deps } from "../ports.js";
import { classifySites } from "../ingress/reconcile-sites.js";
import { loadPlansFor } from "../../domain/plans.js";
import { parseSiteList } from "../../remote/commands/ingress.js";
import { findLeftovers } from "../test-deploy/leftovers.js";
import { destroyInstance } from "../lifecycle/destroy.js";

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
  const ingressOn = Boolean((await loadPlansFor(deps, input.plansFile).catch(() => null))?.ingress);
  for (const scan of scans.filter((s) => s.reachable)) {
    findings.push(...classifySites(scan.host, scan.sites, rows, ingressOn).filter((f) => !only || only.has(f.customerId ?? "")));
  }
  const siteMissing = new Set(findings.filter((f) => f.kind === "site-missing").map((f) => f.customerId));
  for (const scan of scans.filter((s) => !s.reachable)) {
    for (const r of rows.filter((r) => r.hostId === scan.host.id && r.status !== "destroyed")) {
      findings.push({ kind: "unreachable", customerId: r.customerId, hosts: [scan.host.name], detail: `host ${scan.host.name} is unreachable: ${scan.error ?? "?"}` });
    }
  }
  const leftovers = await testLeftovers(deps, input, only, hosts, findings);
  const limit = pLimit(4);
  const ctx = { input, rows, hosts: allHosts, engines };
  await Promise.all([...byCustomer(findings).values()].filter((list) => !leftovers.has(list[0]?.customerId ?? "")).map((list) => limit(() => actInOrder(deps, list, ctx))));
  const unresolved = findings.filter((f) => f.kind !== "foreign" && !f.fixed).length + scans.filter((s) => !s.reachable).length;
  return {
    hosts: scans.map((s) => ({ name: s.host.name, reachable: s.reachable, error: s.error, engine: s.engine, containers: s.containers.length })),
    findings,
    inSync: inSync.filter((c) => !siteMissing.has(c)).sort(),
    unresolved,
  };
}

/**
 * Throwaway test-deploy instances whose run is gone replace the other findings about them; with
 * --fix they are destroyed, data included. Returns their customer ids.
 */
async function testLeftovers(deps: Deps, input: ReconcileInput, only: Set<string> | null, hosts: HostRecord[], findings: ReconcileFinding[]): Promise<Set<string>> {
  const names = new Map(hosts.map((h) => [h.id, h.name]));
  const found = (await findLeftovers(deps)).filter((l) => names.has(l.row.hostId) && (!only || only.has(l.row.customerId)));
  const ids = new Set(found.map((l) => l.row.customerId));
  for (let i = findings.length - 1; i >= 0; i--) if (ids.has(findings[i]!.customerId ?? "")) findings.splice(i, 1);
  for (const l of found) {
    const f: ReconcileFinding = { kind: "test-leftover", customerId: l.row.customerId, hosts: [names.get(l.row.hostId)!], detail: `throwaway test-deploy instance: ${l.why}` };
    findings.push(f);
    if (!input.fix) continue;
    f.action = "destroyed";
    try {
      await destroyInstance(deps, { customerId: l.row.customerId, force: true, purgeBackups: true, reason: `test-deploy leftover: ${l.why}` });
      f.fixed = true;
    } catch (err) {
      f.error = messageOf(err);
    }
  }
  return ids;
}

interface Scan {
  host: HostRecord;
  reachable: boolean;
  error?: string;
  engine: string | null;
  containers: LiveContainer[];
  /** Customer ids of the site files in the host's proxy. */
  sites: string[];
}

async function scanHost(deps: Deps, host: HostRecord): Promise<Scan> {
  try {
    const shell = await deps.connector.shell(targetOf(host));
    const res = await shell.exec(listManagedCommand(host.remoteRoot), { timeoutMs: 60_000 });
    if (res.code !== 0) return { host, reachable: false, error: `listing containers failed (exit ${res.code}): ${res.stderr.trim().slice(-300)}`, engine: null, containers: [], sites: [] };
    const report = parseInspect(res.stdout);
    return { host, reachable: true, engine: report.engine, containers: report.containers, sites: parseSiteList(res.stdout) };
  } catch (err) {
    if (err instanceof HostKeyError) await audit(deps, "host.key-refused", host.name, "refused", err.message);
    return { host, reachable: false, error: messageOf(err), engine: null, containers: [], sites: [] };
  }
}

function groupByEngine(scans: Scan[], only: Set<string> | null): Map<string, EngineGroup> {
  const engines = new Map<string, EngineGroup>();
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
