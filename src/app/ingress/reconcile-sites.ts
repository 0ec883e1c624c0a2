import { proxyPaths } from "../../domain/proxy-paths.js";
import { reloadFailed, removeSitesCommand } from "../../remote/commands/ingress.js";
import type { HostRecord, InstanceRecord } from "../../store/types.js";
import type { Finding } from "../reconcile/classify.js";
import type { Deps } from "../ports.js";
import { targetOf } from "../hosts/hosts.js";
import { audit } from "../audit/record.js";

const HAS_SITE = new Set(["healthy", "unhealthy", "quarantined", "stopped"]);

/**
 * Compares one host's site files with the DB. Pure. A site no live instance on this host accounts
 * for is "site-orphan"; with ingress configured, a live instance without its site is "site-missing".
 */
export function classifySites(host: HostRecord, sites: string[], rows: InstanceRecord[], ingressOn: boolean): Finding[] {
  const findings: Finding[] = [];
  const mine = rows.filter((r) => r.hostId === host.id && HAS_SITE.has(r.status));
  for (const site of sites) {
    if (mine.some((r) => r.customerId === site)) continue;
    const other = rows.find((r) => r.customerId === site);
    const why = !other ? "no such instance in the DB" : other.status === "destroyed" ? "its instance was destroyed" : `its instance is ${other.status}${other.hostId !== host.id ? " on another host" : ""}`;
    findings.push({ kind: "site-orphan", customerId: site, hosts: [host.name], detail: `site ${proxyPaths(host.remoteRoot).site(site)} serves nothing: ${why}` });
  }
  if (!ingressOn) return findings;
  for (const row of mine) {
    if (sites.includes(row.customerId)) continue;
    findings.push({ kind: "site-missing", customerId: row.customerId, hosts: [host.name], detail: `no site file on ${host.name}: ${row.subdomain ?? row.customerId} is not served` });
  }
  return findings;
}

/** Removes an orphan site file and reloads the host's proxy. */
export async function removeOrphanSite(deps: Deps, host: HostRecord, f: Finding & { action?: string; fixed?: boolean }): Promise<void> {
  const shell = await deps.connector.shell(targetOf(host));
  const res = await shell.exec(removeSitesCommand(host.remoteRoot, [f.customerId!]), { timeoutMs: 60_000 });
  if (res.code !== 0 || !/^left\.site=0$/m.test(res.stdout)) throw new Error(`removing the site failed (exit ${res.code}): ${res.stderr.trim().slice(-300)}`);
  if (reloadFailed(res.stdout)) throw new Error("the site file is gone but the proxy reload failed; it is served until the next reload");
  Object.assign(f, { action: "removed", fixed: true });
  await audit(deps, "reconcile.remove-site", f.customerId!, "ok", f.detail);
}
