import { createHash } from "node:crypto";

/** The session cookie a site sets; `__Host-` makes browsers insist on Secure, Path=/ and no Domain. */
export const SESSION_COOKIE = "__Host-cf_session";

/** Where the proxy's socket appears inside its container. */
export const PROXY_ADMIN_SOCKET = "/run/clawfleet/admin.sock";
export const DEFAULT_REMOTE_ROOT = "/opt/clawfleet";

/** Remote paths of a host's ingress proxy. `root` is validated before it gets here. */
export function proxyPaths(root: string) {
  const dir = `${root.replace(/\/+$/, "")}/proxy`;
  return {
    dir,
    sites: `${dir}/sites`,
    /** 0700: the admin socket's directory. */
    admin: `${dir}/admin`,
    lock: `${dir}/.lock`,
    site: (customerId: string) => `${dir}/sites/${customerId}.caddy`,
  };
}

/**
 * The proxy's compose project: `cf-proxy` under the default remote root. Several remote roots on one
 * Docker engine (the sandbox's hosts share one) each get their own, suffixed by a hash of the root.
 */
export function proxyProject(root: string): string {
  const norm = root.replace(/\/+$/, "") || "/";
  if (norm === DEFAULT_REMOTE_ROOT) return "cf-proxy";
  return `cf-proxy-${createHash("sha256").update(norm).digest("hex").slice(0, 8)}`;
}
