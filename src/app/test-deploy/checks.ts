import { SESSION_COOKIE } from "../../domain/proxy-paths.js";
import { siteHost } from "../../domain/subdomain.js";
import type { IngressConfig } from "../../domain/plans.js";
import { healthzOnceCommand } from "../../remote/commands/lifecycle.js";
import { proxyRootCaCommand } from "../../remote/commands/ingress.js";
import type { HttpsProbe, HttpsRequest } from "../../remote/types.js";
import type { RemoteShell } from "../../remote/types.js";
import type { HostRecord } from "../../store/types.js";

/** A check passes by returning its detail and fails by throwing; messages never carry the token or cookie. */
export type Check = () => Promise<string>;

export function hostHealthz(shell: RemoteShell, host: HostRecord, gatewayPort: number): Check {
  return async () => {
    const res = await shell.exec(healthzOnceCommand(gatewayPort), { timeoutMs: 15_000 });
    if (!/^healthz=ok$/m.test(res.stdout)) throw new Error(`GET http://127.0.0.1:${gatewayPort}/healthz on ${host.name} did not answer 200`);
    return `200 from http://127.0.0.1:${gatewayPort}/healthz on ${host.name}`;
  };
}

export interface PublicSite {
  https: HttpsProbe;
  ingress: IngressConfig;
  subdomain: string;
  host: HostRecord;
  shell: RemoteShell;
  token: string;
}

/** The three checks through the host's proxy: public /healthz, 401 without a session, and the login exchange. */
export function publicChecks(site: PublicSite): { name: string; run: Check }[] {
  const name = siteHost(site.subdomain, site.ingress.domain);
  let ca: Promise<string | undefined> | null = null;
  const get = async (path: string, headers: Record<string, string> = {}) => {
    ca ??= trustFor(site);
    const req: HttpsRequest = { address: site.host.ingressAddress || site.host.address, servername: name, path, headers, ca: await ca };
    return site.https.get(req);
  };
  return [
    {
      name: "public /healthz",
      run: async () => {
        const r = await get("/healthz");
        if (r.status !== 200) throw new Error(`GET https://${name}/healthz answered ${r.status}, expected 200`);
        return `200 from https://${name}/healthz`;
      },
    },
    {
      name: "401 without a session",
      run: async () => {
        const r = await get("/");
        if (r.status !== 401) throw new Error(`GET https://${name}/ without a session answered ${r.status}, expected 401`);
        return `GET https://${name}/ answered 401`;
      },
    },
    {
      name: "login exchange",
      run: async () => {
        const r = await get(`/?token=${site.token}`);
        const location = r.headers["location"] ?? "";
        const cookie = (r.headers["set-cookie"] ?? "").split("\n").find((c) => c.startsWith(`${SESSION_COOKIE}=`));
        if (r.status !== 303) throw new Error(`the login link answered ${r.status}, expected 303`);
        if (location.includes("token=")) throw new Error("the login redirect still carries the token");
        if (!cookie) throw new Error(`the login link set no ${SESSION_COOKIE} cookie`);
        const flags = cookie.split(";").slice(1).map((f) => f.trim().toLowerCase());
        const missing = ["httponly", "secure", "samesite=strict"].filter((f) => !flags.includes(f));
        if (missing.length > 0) throw new Error(`the session cookie lacks ${missing.join(", ")}`);
        const after = await get("/", { cookie: cookie.split(";")[0]! });
        if (after.status === 401 || after.status >= 500) throw new Error(`with the session cookie, GET https://${name}/ answered ${after.status}`);
        return `303 to ${location || "/"} with an HttpOnly, Secure, SameSite=Strict cookie; then ${after.status} with it`;
      },
    },
  ];
}

/** `tls: internal`: the proxy's own CA, read over SSH (public); `acme`: the system's CAs. */
async function trustFor(site: PublicSite): Promise<string | undefined> {
  if (site.ingress.tls !== "internal") return undefined;
  const res = await site.shell.exec(proxyRootCaCommand(site.host.remoteRoot), { timeoutMs: 15_000 });
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(res.stdout)?.[0];
  if (res.code !== 0 || !pem) throw new Error(`cannot read the proxy's local CA on ${site.host.name}: ${res.stderr.trim().slice(-200) || `exit ${res.code}`}`);
  return pem + "\n";
}
