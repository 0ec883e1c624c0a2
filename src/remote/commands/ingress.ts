import { PROXY_ADMIN_SOCKET, proxyPaths, proxyProject } from "../../domain/proxy-paths.js";
import { shq } from "./quote.js";

/** Sets $proxy to the host's running proxy container id (empty when none runs). */
function findProxyLine(root: string): string {
  return `proxy=$(docker ps -q --filter ${shq(`label=com.docker.compose.project=${proxyProject(root)}`)} --filter status=running 2>/dev/null | head -n 1)`;
}

/** A graceful reload of the host's proxy from its files; prints `site.reload=ok|failed|no-proxy`. */
function reloadLines(root: string): string[] {
  const reload = `docker exec "$proxy" caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile --address ${shq("unix/" + PROXY_ADMIN_SOCKET)}`;
  return [
    findProxyLine(root),
    `if [ -z "$proxy" ]; then echo site.reload=no-proxy; elif ${reload} >/dev/null 2>&1; then echo site.reload=ok; else echo site.reload=failed; fi`,
  ];
}

/**
 * Removes the instance's site and reloads the proxy (under the proxy's lock), so its name is no
 * longer served and its certificate no longer renewed. Prints `left.site=0|1` and the reload outcome.
 */
export function removeSiteLines(root: string, customerId: string): string[] {
  const p = proxyPaths(root);
  return [
    `site=${shq(p.site(customerId))}`,
    'if [ -e "$site" ]; then',
    `  if [ -d ${shq(p.dir)} ]; then exec 6>>${shq(p.lock)}; command -v flock >/dev/null 2>&1 && flock -w 60 6; fi`,
    '  rm -f "$site"',
    ...reloadLines(root).map((l) => "  " + l),
    "fi",
    'if [ -e "$site" ]; then echo left.site=1; else echo left.site=0; fi',
  ];
}

/** Prints `site=present|missing` and `proxy=running|stopped` for one instance. */
export function siteStateLines(root: string, customerId: string): string[] {
  return [
    `if [ -f ${shq(proxyPaths(root).site(customerId))} ]; then echo site=present; else echo site=missing; fi`,
    findProxyLine(root),
    'if [ -n "$proxy" ]; then echo proxy=running; else echo proxy=stopped; fi',
  ];
}

/** Prints `site=<customer id>` for each site file on the host. */
export function listSitesLines(root: string): string[] {
  return [`for f in ${shq(proxyPaths(root).sites)}/*.caddy; do if [ -f "$f" ]; then f=\${f##*/}; echo "site=\${f%.caddy}"; fi; done`];
}

export interface SiteState {
  site: "present" | "missing" | "unknown";
  proxy: "running" | "stopped" | "unknown";
}

export function parseSiteState(stdout: string): SiteState {
  return {
    site: (/^site=(present|missing)$/m.exec(stdout)?.[1] as SiteState["site"]) ?? "unknown",
    proxy: (/^proxy=(running|stopped)$/m.exec(stdout)?.[1] as SiteState["proxy"]) ?? "unknown",
  };
}

/** Whether a removal's proxy reload failed (the site file is gone, Caddy still serves it). */
export function reloadFailed(stdout: string): boolean {
  return /^site\.reload=failed$/m.test(stdout);
}

export function parseSiteList(stdout: string): string[] {
  return [...stdout.matchAll(/^site=([a-z0-9-]+)$/gm)].map((m) => m[1]!);
}

/** Removes site files by customer id (reconcile --fix: sites without an instance), then reloads. */
export function removeSitesCommand(root: string, customerIds: string[]): string {
  return ["set -u", ...customerIds.flatMap((id) => removeSiteLines(root, id))].join("\n");
}

/** The proxy's local CA certificate (`tls internal`; public, not a secret) as PEM on stdout; exit 3 without a running proxy. */
export function proxyRootCaCommand(root: string): string {
  return [
    findProxyLine(root),
    'if [ -z "$proxy" ]; then echo "no running proxy" >&2; exit 3; fi',
    // The caddy image may have no shell tools: docker cp streams a tar, unpacked here.
    'docker cp "$proxy:/data/caddy/pki/authorities/local/root.crt" - | tar -xO',
  ].join("\n");
}
