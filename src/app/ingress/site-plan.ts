import { InputError } from "../../errors.js";
import type { IngressConfig, Plans } from "../../domain/plans.js";
import { PROXY_ADMIN_SOCKET, proxyPaths, proxyProject } from "../../domain/proxy-paths.js";
import { checkSubdomain, loginUrl, publicUrl, siteHost } from "../../domain/subdomain.js";
import type { ProvisionIngressView } from "../../render/context.js";
import { renderProxyFiles, renderSite } from "../../render/ingress.js";
import type { UploadFile } from "../../remote/types.js";
import type { HostRecord, InstanceRecord } from "../../store/types.js";
import { generateSessionSecret } from "../../domain/secrets.js";
import type { Deps } from "../ports.js";

/** An instance's public site: where it is served and the session secret its cookie carries. */
export interface SitePlan {
  ingress: IngressConfig;
  subdomain: string;
  /** Secret: lives only in the site file (0600) on the host. */
  sessionSecret: string;
}

/**
 * The subdomain a provision claims: `--subdomain`, else the customer id. Null without an `ingress:`
 * section, where asking for one is an input error.
 */
export function chooseSubdomain(plans: Plans, customerId: string, requested?: string): string | null {
  if (!plans.ingress) {
    if (requested !== undefined) throw new InputError(`--subdomain: ${plans.file} has no ingress: section, so instances get no public site`, "add ingress: (domain, tls, image) to plans.yaml, or drop --subdomain");
    return null;
  }
  if (requested !== undefined) return checkSubdomain(requested);
  return checkSubdomain(customerId, "--customer-id (the default subdomain)");
}

/** The site file and the host's proxy files, staged beside the instance's own. */
export function siteUploads(site: SitePlan, host: HostRecord, customerId: string, gatewayPort: number, token: string, stagedDir: string): UploadFile[] {
  const proxy = renderProxyFiles(site.ingress, host.remoteRoot, host.ingressAddress ?? null);
  const siteText = renderSite(site.ingress, { customerId, subdomain: site.subdomain, gatewayPort, gatewayToken: token, sessionSecret: site.sessionSecret });
  return [
    { path: `${stagedDir}/site.caddy`, content: siteText, mode: 0o600 },
    { path: `${stagedDir}/proxy-compose.yml`, content: proxy.compose, mode: 0o644 },
    { path: `${stagedDir}/Caddyfile`, content: proxy.caddyfile, mode: 0o644 },
  ];
}

/** What provision.sh needs to run the proxy and install the site (no secrets). */
export function provisionIngressView(site: SitePlan, host: Pick<HostRecord, "remoteRoot" | "ingressAddress">): ProvisionIngressView {
  return {
    proxyDir: proxyPaths(host.remoteRoot).dir,
    project: proxyProject(host.remoteRoot),
    siteHost: siteHost(site.subdomain, site.ingress.domain),
    address: host.ingressAddress ?? "",
    socketInContainer: PROXY_ADMIN_SOCKET,
  };
}

/** The customer's URL, and the one-time login link (the only URL that carries the token). */
export function siteUrls(ingress: IngressConfig | null, subdomain: string | null, token: string): { publicUrl: string | null; loginUrl: string | null } {
  if (!ingress || !subdomain) return { publicUrl: null, loginUrl: null };
  return { publicUrl: publicUrl(subdomain, ingress.domain), loginUrl: loginUrl(subdomain, ingress.domain, token) };
}

/**
 * The site a re-render (upgrade, rotate-token, reconcile --fix) writes: the instance's subdomain
 * (claimed now when it had none, e.g. provisioned before ingress was configured) and the session
 * secret the host holds, or a fresh one when the token is fresh or the old site is gone.
 */
export async function siteForRerender(deps: Deps, plans: Plans, row: InstanceRecord, session: { carried: string | null; fresh: boolean }, warn: (message: string) => void): Promise<SitePlan | null> {
  if (!plans.ingress) return null;
  let subdomain = row.subdomain;
  if (!subdomain) {
    try {
      subdomain = checkSubdomain(row.customerId, "customer id");
      await deps.store.instances.update(row.customerId, { subdomain });
    } catch (err) {
      warn(`no public site for ${row.customerId}: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
      return null;
    }
  }
  if (session.fresh) return { ingress: plans.ingress, subdomain, sessionSecret: generateSessionSecret() };
  if (!session.carried && row.subdomain) warn(`the host had no site for ${row.customerId}; it is restored with a new session secret, so customers open their login link again`);
  return { ingress: plans.ingress, subdomain, sessionSecret: session.carried ?? generateSessionSecret() };
}
