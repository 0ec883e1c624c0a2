import pc from "picocolors";
import type { InstanceSummary } from "../app/lifecycle/list.js";
import type { StatusResult } from "../app/lifecycle/status.js";
import type { ReconcileResult } from "../app/reconcile/reconcile.js";
import type { PruneResult } from "../app/lifecycle/prune.js";
import { table } from "./table.js";

/** 90 → "1m30s", 200000 → "2d7h": the two largest units. */
export function formatAge(sec: number | null): string {
  if (sec === null) return "-";
  const units: [string, number][] = [["d", 86_400], ["h", 3_600], ["m", 60], ["s", 1]];
  const parts: string[] = [];
  let rest = Math.max(0, Math.round(sec));
  for (const [u, n] of units) {
    if (rest >= n || (u === "s" && parts.length === 0)) {
      parts.push(`${Math.floor(rest / n)}${u}`);
      rest %= n;
    }
    if (parts.length === 2) break;
  }
  return parts.join("");
}

export function humanList(list: InstanceSummary[]): string {
  if (list.length === 0) return "no instances: create one with `clawfleet provision --customer-id ID --plan free`";
  return table(
    ["customer", "plan", "host", "status", "health", "age", "image"],
    list.map((i) => [i.customerId, i.plan, i.host, colorStatus(i.status), i.health, formatAge(i.ageSec), i.image]),
  );
}

export function humanStatus(s: StatusResult): string {
  const c = s.live.container;
  const lines = [
    `${s.customerId}: ${colorStatus(s.status)}${s.statusReason ? pc.dim(` (${s.statusReason})`) : ""}`,
    `  plan ${s.plan} on ${s.host}, slot ${s.portSlot ?? "-"}${s.ports ? `, gateway 127.0.0.1:${s.ports.gateway} (bridge ${s.ports.bridge}, browser ${s.ports.browser}, CDP ${s.ports.cdpStart}-${s.ports.cdpEnd}${s.cdpPublished === false ? " reserved, not published" : ""})` : ""}`,
    `  image ${s.image}; created ${s.createdAt}${s.expiresAt ? `; expires ${s.expiresAt}` : ""}`,
    `  health: ${s.health.consecutiveFailures} consecutive failure(s), ${s.health.restartCount} auto-restart(s)${s.health.lastHealthAt ? `, last check ${s.health.lastHealthAt}` : ""}${s.health.quarantinedAt ? pc.red(`, quarantined ${s.health.quarantinedAt}`) : ""}`,
  ];
  if (!s.live.reachable) lines.push(pc.red(`  live: host unreachable: ${s.live.error}`));
  else if (!c) lines.push(pc.red(`  live: no container on the host (files ${s.live.files})`));
  else {
    lines.push(`  live: container ${c.name} ${c.state}${c.health ? `, ${colorStatus(c.health)}` : ""}, up ${formatAge(c.uptimeSec)}, ${c.restartCount} docker restart(s)`);
    lines.push(`        image ${c.image}${c.image !== s.image ? pc.yellow(" (differs from the DB)") : ""}; ${c.boundPorts} ports bound${c.loopbackOnly ? " on 127.0.0.1" : pc.red(" (NOT all on 127.0.0.1)")}; files ${s.live.files}`);
    if (s.live.extraContainers > 0) lines.push(pc.yellow(`        ${s.live.extraContainers} extra container(s) in the project`));
  }
  if (s.site) {
    const live = s.site.live === null ? pc.dim("unknown (host unreachable)") : s.site.live ? pc.green("live") : pc.red(`NOT live (site file ${s.live.site?.site}, proxy ${s.live.site?.proxy}): \`clawfleet reconcile --fix\` restores it`);
    lines.push(`  site: ${s.site.publicUrl} ${live}`);
  }
  lines.push(`  backup: ${backupLine(s.backup)}`);
  const cfg = s.config;
  const state = cfg.state === "in-sync" ? pc.green("in sync") : cfg.state === "drifted" ? pc.red("DRIFTED") : pc.dim("unknown");
  lines.push(`  config: ${state} (DB ${short(cfg.recorded)}, host ${short(cfg.live)})${cfg.outdated ? pc.yellow(`; plans/templates changed since (${short(cfg.desired)}): \`clawfleet upgrade ${s.customerId}\` applies them`) : ""}`);
  if (cfg.note) lines.push(pc.dim(`  ${cfg.note}`));
  return lines.join("\n");
}

export function humanReconcile(r: ReconcileResult): string {
  const lines = r.hosts.map((h) => `${h.reachable ? pc.green("✓") : pc.red("✗")} ${h.name}: ${h.reachable ? `${h.containers} labelled container(s)` : h.error}`);
  if (r.findings.length === 0) lines.push(`everything matches: ${r.inSync.length} instance(s) in sync`);
  else {
    lines.push(
      table(
        ["kind", "customer", "host(s)", "container", "detail", "action"],
        r.findings.map((f) => [f.kind, f.customerId ?? "-", f.hosts.join(","), f.containerName ?? "-", f.detail, f.error ? pc.red(`${f.action}: ${f.error}`) : f.action ?? "-"]),
      ),
    );
    lines.push(`${r.inSync.length} in sync, ${r.unresolved} finding(s) need attention${r.unresolved ? "; --fix repairs instances, --remove-orphans removes orphan containers" : ""}`);
  }
  for (const f of r.findings.filter((x) => x.gatewayToken)) {
    lines.push(pc.yellow(`new gateway token for ${f.customerId} (its .env was gone; shown once): ${f.gatewayToken}`));
  }
  return lines.join("\n");
}

export function humanPrune(r: PruneResult): string {
  if (r.expired.length === 0) return "nothing has expired";
  const verb = r.dryRun ? "would destroy" : "destroyed";
  return r.expired
    .map((e) => (e.outcome === "failed" ? pc.red(`✗ ${e.customerId} (${e.host}): ${e.error}`) : `${pc.green("✓")} ${verb} ${e.customerId} (${e.plan} on ${e.host}, expired ${e.expiresAt})${e.announced === false ? pc.yellow(" [webhook failed]") : ""}`))
    .join("\n");
}

function colorStatus(s: string): string {
  if (s === "healthy") return pc.green(s);
  if (s === "stopped" || s === "starting" || s === "provisioning") return pc.yellow(s);
  return s === "destroyed" ? pc.dim(s) : pc.red(s);
}

function short(hash: string | null): string {
  return hash ? hash.slice(0, 12) : "none";
}

function backupLine(b: StatusResult["backup"]): string {
  const schedule = b.schedule && b.schedule !== "none" ? `${b.schedule}; ` : "";
  const last = b.last ? `last ${b.last.at.replace(/\.\d+Z$/, "Z")} (${formatAge(b.last.ageSec)} ago, ${b.last.id})` : "none yet";
  const failed = b.lastFailure ? pc.red(`; the latest attempt failed: ${b.lastFailure.detail ?? "unknown"}`) : "";
  return `${schedule}${last}${b.overdue ? pc.red(" OVERDUE") : ""}${failed}`;
}
