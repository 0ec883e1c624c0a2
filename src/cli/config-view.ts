import pc from "picocolors";
import type { ConfigSetResult, ConfigShowResult, TestCheck, TestDeployResult } from "../index.js";
import { formatMs } from "./output.js";
import { table } from "./table.js";

const short = (h: string | null) => (h ? h.slice(0, 12) : "-");
const MASK = "••••••••";

export function humanConfigShow(c: ConfigShowResult): string {
  const p = c.ports;
  const lines = [
    `${c.customerId}: plan ${c.plan} on ${c.host}, ${c.status}`,
    `  image    ${c.image}`,
    `  ports    ${p ? `gateway 127.0.0.1:${p.gateway}, bridge ${p.bridge}, browser ${p.browser}, CDP ${p.cdpStart}-${p.cdpEnd}` : "-"}`,
    `  public   ${c.publicUrl ?? pc.dim("none (no ingress: section)")}${c.subdomain ? ` (subdomain ${c.subdomain})` : ""}`,
    `  limits   ${c.limits ? `memory ${c.limits.memory}, ${c.limits.cpus} CPU(s), ${c.limits.pids} pids, health timeout ${c.limits.healthTimeoutSec} s` : pc.dim("unknown (the plans cannot be read)")}`,
    `  config   ${short(c.config.recorded)} ${c.config.state === "in-sync" ? pc.green("in sync") : c.config.state === "drifted" ? pc.red(`DRIFTED (host ${short(c.config.live)})`) : pc.dim("unknown")}${c.config.outdated ? pc.yellow(`; the plans now render ${short(c.config.desired)}: \`clawfleet upgrade ${c.customerId}\``) : ""}`,
  ];
  lines.push("", "settings (plans.yaml settable; `clawfleet config set` changes them):");
  if (c.settings.length === 0) lines.push(pc.dim(`  plan ${c.plan} declares none`));
  else lines.push(table(["key", "value", "source", "rule"], c.settings.map((s) => [s.key, s.value ?? "-", s.source, [s.default !== null ? `default ${s.default}` : "", s.pattern ? `matches ${s.pattern}` : ""].filter(Boolean).join("; ") || "-"])));
  const e = c.env;
  lines.push("", `.env on ${c.host}${e.mode ? ` (mode ${e.mode}${e.mode === "600" ? "" : pc.red(", expected 600")})` : ""}:`);
  if (!e.reachable) lines.push(pc.red(`  host unreachable: ${e.error}`));
  else if (e.file === "missing") lines.push(pc.red("  missing: `clawfleet reconcile --fix` re-renders it"));
  else lines.push(table(["key", "value", "note"], e.vars.map((v) => [v.key, v.masked ? pc.dim(MASK) : v.value ?? "", v.note ?? (v.masked ? "secret" : "")])));
  return lines.join("\n");
}

export function humanConfigSet(r: ConfigSetResult): string {
  const diff = r.changes.map((c) => `  ${c.key}: ${c.from ?? pc.dim("(unset)")} → ${c.to}`);
  if (r.action === "dry-run") {
    const hash = r.configHash.from === r.configHash.to ? `config hash stays ${short(r.configHash.to)}` : `config hash ${short(r.configHash.from)} → ${short(r.configHash.to)}`;
    return [`dry run for ${r.customerId} on ${r.host}: nothing changed`, ...(diff.length ? diff : ["  (no difference)"]), `  ${hash}; applying re-renders the files and restarts the instance, health-gated`].join("\n");
  }
  if (r.action === "none") return `${r.customerId} already has these settings; nothing changed`;
  return [`${pc.green("✓")} ${r.customerId}: applied and healthy in ${formatMs(r.durationMs)} (config ${short(r.configHash.from)} → ${short(r.configHash.to)})`, ...diff].join("\n");
}

export function checkLine(c: TestCheck): string {
  return `${c.ok ? pc.green("✓") : pc.red("✗")} ${c.name.padEnd(28)} ${pc.dim(formatMs(c.durationMs).padStart(8))}  ${c.detail}`;
}

export function humanTestDeploy(r: TestDeployResult): string {
  const failed = r.checks.filter((c) => !c.ok).length;
  const notes = [r.publicSkipped ? pc.dim("(public checks skipped: plans.yaml has no ingress: section)") : ""].filter(Boolean);
  const verdict = r.interrupted
    ? pc.yellow(`interrupted: ${r.customerId} was cleaned up`)
    : r.ok
      ? pc.green(`test-deploy passed: ${r.checks.length} checks in ${formatMs(r.durationMs)} (plan ${r.plan}${r.host ? ` on ${r.host}` : ""})`)
      : pc.red(`test-deploy FAILED: ${failed} of ${r.checks.length} checks (plan ${r.plan}${r.host ? ` on ${r.host}` : ""})`);
  return [...notes, verdict].join("\n");
}
