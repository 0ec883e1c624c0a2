import { removeContainersCommand, stopInstanceCommand } from "../../remote/commands/lifecycle.js";
import type { HostRecord, InstanceRecord } from "../../store/types.js";
import { targetOf } from "../hosts/hosts.js";
import { audit } from "../audit/record.js";
import { messageOf } from "../instance-lookup.js";
import { startInstance } from "../lifecycle/lifecycle.js";
import type { EngineView } from "./classify.js";
import type { ReconcileFinding, ReconcileInput } from "./reconcile.js";
import { reprovision } from "../provision/reprovision.js";
import { withInstanceLease } from "../coordination/leases/instance.js";
import { UPGRADABLE } from "../lifecycle/upgrade.js";
import type { Deps } from "../ports.js";
import { removeOrphanSite } from "../ingress/reconcile-sites.js";

export type EngineGroup = EngineView & { via: HostRecord };

/** Findings a re-provision repairs (the site is re-rendered with the rest). */
const REPROVISIONS = new Set<ReconcileFinding["kind"]>(["missing", "drifted", "site-missing"]);

export interface ActContext {
  input: ReconcileInput;
  rows: InstanceRecord[];
  hosts: HostRecord[];
  engines: Map<string, EngineGroup>;
}

/** Instance findings grouped per customer (fixed one after another); each orphan on its own. */
export function byCustomer(findings: ReconcileFinding[]): Map<string, ReconcileFinding[]> {
  const groups = new Map<string, ReconcileFinding[]>();
  findings.forEach((f, i) => {
    const key = f.kind === "orphan" || f.kind === "foreign" || f.kind === "site-orphan" ? `#${i}` : `c:${f.customerId}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  });
  return groups;
}

/** A re-provision also starts the container, so it settles a "stopped" finding of the same instance. */
export async function actInOrder(deps: Deps, list: ReconcileFinding[], ctx: ActContext): Promise<void> {
  for (const f of list) {
    const settled = list.find((o) => o !== f && o.action === "re-provisioned" && o.fixed);
    if (settled && (f.kind === "stopped" || REPROVISIONS.has(f.kind))) {
      Object.assign(f, { action: "re-provisioned", fixed: true });
      continue;
    }
    await act(deps, f, ctx);
  }
}

async function act(deps: Deps, f: ReconcileFinding, ctx: ActContext): Promise<void> {
  if (f.kind === "unreachable" || f.kind === "foreign") return;
  try {
    if (f.kind === "orphan") {
      if (ctx.input.removeOrphans) await removeOrphan(deps, f, ctx);
      return;
    }
    if (f.kind === "site-orphan") {
      const host = ctx.hosts.find((h) => h.name === f.hosts[0]);
      if (ctx.input.fix && host) await removeOrphanSite(deps, host, f);
      return;
    }
    if (ctx.input.fix) await fixInstance(deps, f, ctx);
  } catch (err) {
    Object.assign(f, { action: f.action ?? "fix failed", fixed: false, error: messageOf(err).split("\n")[0] });
    await audit(deps, f.kind === "orphan" ? "reconcile.remove-orphan" : "reconcile.fix", f.customerId ?? f.containerName ?? "?", "failed", messageOf(err).slice(0, 500));
  }
}

/** Removes the container through any host that sees its engine; its volumes stay. */
async function removeOrphan(deps: Deps, f: ReconcileFinding, { engines }: ActContext): Promise<void> {
  const group = [...engines.values()].find((e) => e.hosts.some((h) => f.hosts.includes(h.name)))!;
  const full = group.containers.find((c) => c.id.startsWith(f.containerId!))!;
  const shell = await deps.connector.shell(targetOf(group.via));
  const res = await shell.exec(removeContainersCommand([full.id]), { timeoutMs: 60_000 });
  if (res.code !== 0) throw new Error(`docker rm failed (exit ${res.code}): ${res.stderr.trim().slice(-300)}`);
  Object.assign(f, { action: "removed", fixed: true });
  await audit(deps, "reconcile.remove-orphan", f.containerName ?? f.containerId!, "ok", `${f.detail}; via ${group.via.name}`);
}

/** Makes the host match the DB: re-provision (missing, drifted), start (stopped), stop (running). */
async function fixInstance(deps: Deps, f: ReconcileFinding, { input, rows, hosts }: ActContext): Promise<void> {
  const row = rows.find((r) => r.customerId === f.customerId);
  const host = row ? hosts.find((h) => h.id === row.hostId) : undefined;
  if (!row || !host) return;
  if (REPROVISIONS.has(f.kind) && row.status === "stopped") {
    Object.assign(f, { action: "skipped: stopped on purpose; `clawfleet start` re-creates it" });
    return;
  }
  if (REPROVISIONS.has(f.kind)) {
    await withInstanceLease(deps, row, "re-provision", async () => {
      const shell = await deps.connector.shell(targetOf(host));
      const out = await reprovision(deps, shell, { row, host, plan: row.plan, image: row.image, token: "keep", plansFile: input.plansFile });
      await deps.store.instances.update(row.customerId, { configHash: out.configHash, tokenHash: out.tokenHash, status: "healthy", statusReason: null, consecutiveFailures: 0 });
      Object.assign(f, { action: "re-provisioned", fixed: true }, out.newToken ? { gatewayToken: out.newToken } : {});
      await audit(deps, "reconcile.fix", row.customerId, "ok", `${f.kind}: re-provisioned${out.newToken ? " with a new token (the old one was gone)" : ""}`);
    }, UPGRADABLE);
  } else if (f.kind === "stopped") {
    await startInstance(deps, row.customerId, { plansFile: input.plansFile });
    Object.assign(f, { action: "started", fixed: true });
  } else if (f.kind === "running") {
    await withInstanceLease(deps, row, "stop", async () => {
      const shell = await deps.connector.shell(targetOf(host));
      const res = await shell.exec(stopInstanceCommand(host.remoteRoot, row.customerId), { timeoutMs: 60_000 });
      if (res.code !== 0) throw new Error(`stop failed (exit ${res.code}): ${res.stderr.trim().slice(-300)}`);
      Object.assign(f, { action: "stopped", fixed: true });
      await audit(deps, "reconcile.fix", row.customerId, "ok", "running but stopped in the DB: stopped");
    });
  }
}
