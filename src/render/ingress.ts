import { getEngine } from "./engine.js";
import { defaultTemplatesDir, type IngressConfig } from "../domain/plans.js";
import { siteHost } from "../domain/subdomain.js";
import { PROXY_ADMIN_SOCKET, SESSION_COOKIE, proxyPaths, proxyProject } from "../domain/proxy-paths.js";

export const PROXY_TEMPLATES = { compose: "proxy/docker-compose.yml.hbs", caddyfile: "proxy/Caddyfile.hbs", site: "proxy/site.caddy.hbs" } as const;

export interface SiteContext {
  customerId: string;
  subdomain: string;
  gatewayPort: number;
  /** Secret: the site file is 0600 on the host. */
  gatewayToken: string;
  /** Secret: the cookie's value, independent of the token. */
  sessionSecret: string;
}

/** The host-wide proxy files: its compose file and main Caddyfile (no secrets in either). */
export function renderProxyFiles(ingress: IngressConfig, remoteRoot: string, bindAddress: string | null, templatesDir = defaultTemplatesDir) {
  const engine = getEngine(templatesDir);
  const paths = proxyPaths(remoteRoot);
  const project = proxyProject(remoteRoot);
  const view = {
    image: ingress.image,
    proxyDir: paths.dir,
    adminDir: paths.admin,
    adminSocket: PROXY_ADMIN_SOCKET,
    remoteRoot,
    volumeName: `${project}-data`,
    bindAddress,
    acmeEmail: ingress.tls === "acme" ? ingress.acmeEmail : null,
    tlsInternal: ingress.tls === "internal",
  };
  return { compose: engine.render(PROXY_TEMPLATES.compose, view), caddyfile: engine.render(PROXY_TEMPLATES.caddyfile, view) };
}

/** One instance's site file. */
export function renderSite(ingress: IngressConfig, site: SiteContext, templatesDir = defaultTemplatesDir): string {
  return getEngine(templatesDir).render(PROXY_TEMPLATES.site, {
    customerId: site.customerId,
    siteHost: siteHost(site.subdomain, ingress.domain),
    tlsInternal: ingress.tls === "internal",
    gatewayPort: site.gatewayPort,
    gatewayToken: site.gatewayToken,
    sessionSecret: site.sessionSecret,
    cookieName: SESSION_COOKIE,
    streamCloseDelay: streamCloseDelay(ingress.image),
  });
}

/**
 * Caddy closes proxied WebSockets whenever its config reloads; from 2.7 `stream_close_delay` keeps
 * them open. Older (Debian's 2.6) or untagged images get no such line, which they would reject.
 */
export function streamCloseDelay(image: string): string | null {
  const m = /:v?(\d+)\.(\d+)(?:\.\d+)?(?:[-@]|$)/.exec(image);
  if (!m) return null;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 2 || (major === 2 && minor >= 7) ? "24h" : null;
}
