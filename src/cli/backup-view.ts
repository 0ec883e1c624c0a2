import pc from "picocolors";
import type { BackupEntry, PruneBackupsResult, RestoreResult } from "../index.js";
import { formatBytes, formatMs } from "./output.js";
import { table } from "./table.js";

export function humanBackups(list: BackupEntry[]): string {
  if (list.length === 0) return "no backups (take one with `clawfleet backup ID`)";
  const status = (b: BackupEntry) => (b.status === "ok" ? pc.green("ok") : b.status === "failed" ? pc.red("failed") : b.status);
  return table(
    ["id", "customer", "at", "size", "status", "kind", "file"],
    list.map((b) => [b.id, b.customerId, b.at.replace(/\.\d+Z$/, "Z"), b.bytes === null ? "-" : formatBytes(b.bytes), status(b), `${b.trigger}${b.retention === "pinned" ? ", pinned" : ""}${b.encrypted ? ", age" : ""}`, b.status === "ok" ? b.path : (b.detail ?? "").slice(0, 60)]),
  );
}

export function humanPrune(r: PruneBackupsResult): string {
  const verb = r.dryRun ? "would delete" : "deleted";
  const lines = [`${verb} ${r.pruned.length} backup(s) beyond their plan's keep; ${r.kept} kept`];
  for (const b of r.pruned) lines.push(`  ${b.id}  ${b.customerId}  ${b.at}  ${b.path}`);
  if (r.strayPartials.length) lines.push(`${r.dryRun ? "would remove" : "removed"} ${r.strayPartials.length} stray partial file(s):`, ...r.strayPartials.map((f) => `  ${f}`));
  return lines.join("\n");
}

export function humanRestore(r: RestoreResult): string {
  if (r.mode === "in-place") return `${pc.green("✓")} restored backup ${r.backupId} into ${r.customerId} on ${r.host}; it is healthy (${formatMs(r.durationMs)})`;
  return [
    `${pc.green("✓")} ${r.customerId} provisioned on ${r.host} from backup ${r.restoredFrom.backupId} (${r.restoredFrom.customerId}, ${r.restoredFrom.at})`,
    ...(r.publicUrl ? [`  public URL:    ${r.publicUrl}`, `  login link:    ${r.loginUrl}`] : []),
    `  URL (host):    ${r.url}`,
    `  gateway token: ${r.gatewayToken}`,
    pc.yellow("  The token is shown once and is not stored; save it now."),
  ].join("\n");
}
