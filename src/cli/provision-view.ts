import pc from "picocolors";
import type { DryRunResult, ProvisionResult } from "../app/provision/provision.js";
import { formatMs } from "./output.js";

export function humanProvision(r: ProvisionResult): string {
  return [
    "",
    `${pc.green("✓")} ${r.customerId} is ${r.status}: plan ${r.plan} on ${r.host}${r.changed ? "" : " (no change)"}`,
    ...(r.publicUrl ? [`  public URL:         ${r.publicUrl}`, `  login link (once):  ${r.loginUrl}`] : []),
    `  URL (on the host):  ${r.url}`,
    `  reach it from here: ${r.sshTunnel}`,
    `  gateway token:      ${r.gatewayToken}`,
    pc.yellow(`  The token${r.loginUrl ? " and the login link are" : " is"} shown once and not stored; save ${r.loginUrl ? "them" : "it"} now.`),
    ...(r.loginUrl ? ["  The link trades the token for a browser session and drops it from the URL; API clients send Authorization: Bearer <token>."] : []),
    `  took ${formatMs(r.durationMs)}`,
  ].join("\n");
}

export function humanDryRun(r: DryRunResult): string {
  const files = r.files.map((f) => `--- ${f.path} (mode ${f.mode})\n${f.content.trimEnd()}`);
  return [
    `dry run: ${r.customerId}, plan ${r.plan}, on ${r.host}; nothing was changed`,
    "",
    "planned actions:",
    ...r.actions.map((a, i) => `  ${i + 1}. ${a}`),
    "",
    ...files,
  ].join("\n");
}
