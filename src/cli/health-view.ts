import pc from "picocolors";
import type { HealthHistory } from "../app/health/history.js";
import { reportLine, type FleetReport } from "../app/health/report.js";
import type { SweepReport } from "../app/health/types.js";
import type { BackupTickReport } from "../app/backup/index.js";
import { formatMs } from "./output.js";
import { table } from "./table.js";

const paint = (status: string) => (status === "healthy" ? pc.green(status) : status === "unknown" ? pc.yellow(status) : pc.red(status));

export function humanSweep(r: SweepReport): string {
  const hosts = table(
    ["host", "reachable", "instances", "time", "error"],
    r.hosts.map((h) => [h.name, h.reachable ? "yes" : pc.red("no"), h.instances, formatMs(h.durationMs), h.error ?? ""]),
  );
  const parts = [hosts];
  if (r.instances.length > 0) {
    parts.push(
      table(
        ["customer", "host", "health", "latency", "status", "action", "reason"],
        r.instances.map((i) => [
          i.customerId, i.host, paint(i.status), i.latencyMs === null ? "" : `${i.latencyMs} ms`, i.instanceStatus,
          i.action === "none" ? i.note ?? "" : `${i.action}${i.note ? ` (${i.note})` : ""}`, i.reason ?? "",
        ]),
      ),
    );
  }
  parts.push(sweepLine(r));
  return parts.join("\n");
}

/** One line per sweep, as the daemon prints it. */
export function sweepLine(r: SweepReport): string {
  const s = r.summary;
  const verdict = r.ok ? pc.green("all healthy") : pc.red("attention");
  const shared = r.sweptElsewhere > 0 ? ` (+${r.sweptElsewhere} swept by other daemons)` : "";
  const missed = r.missed.length > 0 ? pc.red(`; not swept by anyone yet, still held by another daemon: ${r.missed.join(", ")}`) : "";
  return `${r.at} sweep ${formatMs(r.durationMs)}: ${r.hosts.length} host(s)${shared}, ${s.hostsDown} down; ${s.instances} instance(s): ${s.healthy} healthy, ${s.unhealthy} unhealthy, ${s.unknown} unknown; ${s.restarted} restarted, ${s.quarantined} quarantined${missed}: ${verdict}`;
}

export function humanHistory(h: HealthHistory): string {
  const head = [
    `${h.customerId} on ${h.host}: ${paint(h.status === "quarantined" ? "unhealthy" : h.status)}${h.status === "quarantined" ? pc.red(" (quarantined)") : ""}${h.statusReason ? ` (${h.statusReason})` : ""}`,
    `consecutive failures ${h.consecutiveFailures}, restarts in window ${h.restarts}${h.lastRestartAt ? `, last restart ${h.lastRestartAt}` : ""}`,
  ];
  if (h.checks.length === 0) return [...head, "no health checks recorded yet"].join("\n");
  const rows = h.checks.map((c) => [c.at.toISOString(), paint(c.status), c.latencyMs === null ? "" : `${c.latencyMs} ms`, c.detail ?? ""]);
  return [...head, table(["at", "health", "latency", "detail"], rows)].join("\n");
}

export function humanReport(r: FleetReport): string {
  const lines = [`${pc.bold("clawfleet daily health report")} ${r.at}`, reportLine(r)];
  if (r.quarantined.length) lines.push(`quarantined: ${r.quarantined.join(", ")}`);
  for (const h of r.hostsDown) lines.push(`host ${h.name} down since ${h.since}${h.reason ? `: ${h.reason}` : ""}`);
  return lines.join("\n");
}

/** One line per daemon backup tick that had due backups. */
export function backupTickLine(r: BackupTickReport): string {
  const failed = r.runs.filter((x) => !x.ok).map((x) => `${x.customerId} (${x.error})`);
  return `${r.at} backups: ${r.due} due, ${r.ok} ok, ${r.failed} failed${failed.length ? ": " + failed.join("; ") : ""}`;
}
