import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli, tempDbUrl } from "./cli.js";
import { describeSandbox, sandboxHosts, sh } from "./sandbox.js";
import { cleanupCustomers, docker } from "./lifecycle-helpers.js";
import { DOMAIN, wsEcho, bodyOf, curl, fetchRootCa, filesContaining, header, modeOf, openStream, proxyContainer, removeProxy, statusOf } from "./ingress-helpers.js";

const IMAGE = "clawfleet-test-gateway:1.0";
const customers = ["ig-a", "ig-b", "ig-c", "ig-d", "ig-e", "ig-x"];

describeSandbox("ingress: Caddy per host, https://<customer>.<domain> (real sshd, Docker and Caddy)", () => {
  const db = tempDbUrl("cf-ig-");
  const tmp = mkdtempSync(path.join(os.tmpdir(), "cf-ig-"));
  const plansFile = path.join(tmp, "plans.yaml");
  const env = { CLAWFLEET_DATABASE_URL: db, CLAWFLEET_PLANS: plansFile };
  const hosts = () => sandboxHosts();
  const h1 = () => hosts()[0]!;
  const h2 = () => hosts()[1]!;
  const h3 = () => hosts()[2]!;
  const ca1 = path.join(tmp, "ca1.crt");
  const ca2 = path.join(tmp, "ca2.crt");
  const tokens: Record<string, string> = {};
  const cli = async (args: string[], code = 0) => {
    const r = await runCli(args, env);
    expect(r.code, `${args.join(" ")}\n${r.stderr}\n${r.stdout}`).toBe(code);
    return r;
  };
  const provision = async (id: string, host: string, extra: string[] = []) => {
    const r = (await cli(["provision", "--customer-id", id, "--plan", "free", "--host", host, "--image", IMAGE, "--json", ...extra])).json();
    tokens[id] = r.gatewayToken;
    return r;
  };
  const login = async (id: string, token = tokens[id]!) => {
    const r = await curl(id, h1().ingressAddress, ca1, `/?token=${token}`);
    const cookie = /^(__Host-cf_session=[0-9a-f]{64});/.exec(header(r, "set-cookie") ?? "")?.[1];
    return { r, cookie: cookie ?? "" };
  };
  const gatewayLog = (id: string) => docker("logs", `cf-${id}`);
  const cleanupProxies = () => hosts().forEach((h) => removeProxy(h.remoteRoot));

  beforeAll(async () => {
    cleanupCustomers(customers);
    cleanupProxies();
    const proxyImage = h1().proxyImage;
    expect(proxyImage, "scripts/sandbox builds the proxy image").toMatch(/^clawfleet-sandbox-caddy:/);
    writeFileSync(plansFile, readFileSync(path.resolve("templates/plans.yaml"), "utf8").replace(/healthTimeout: \S+/, "healthTimeout: 15s") +
      `\ningress:\n  domain: ${DOMAIN}\n  tls: internal\n  image: ${proxyImage}\n`);
    for (const h of hosts()) {
      await cli(["hosts", "add", h.name, "--ssh", `${h.user}@${h.address}:${h.port}`, "--identity", h.identityFile, "--host-key", h.fingerprint, "--remote-root", h.remoteRoot, "--shared", "--ingress-address", h.ingressAddress]);
    }
    const a = await provision("ig-a", h1().name);
    expect(a.publicUrl).toBe(`https://ig-a.${DOMAIN}/`);
    expect(a.loginUrl).toBe(`https://ig-a.${DOMAIN}/?token=${a.gatewayToken}`);
    await provision("ig-b", h1().name, ["--subdomain", "ig-b"]);
    fetchRootCa(h1().remoteRoot, ca1);
  });
  afterAll(() => {
    cleanupCustomers(customers);
    cleanupProxies();
  });

  it("hosts list shows each host's ingress address", async () => {
    const list = (await cli(["hosts", "list", "--json"])).json().hosts as { name: string; ingressAddress: string }[];
    expect(list.map((h) => h.ingressAddress)).toEqual(hosts().map((h) => h.ingressAddress));
  });

  it("serves /healthz publicly and refuses everything else without a session, before the gateway sees it", async () => {
    const health = await curl("ig-a", h1().ingressAddress, ca1, "/healthz");
    expect(statusOf(health)).toBe(200);
    expect(bodyOf(health)).toBe("ok\n");
    const before = (gatewayLog("ig-a").match(/GET \/whoami/g) ?? []).length;
    const denied = await curl("ig-a", h1().ingressAddress, ca1, "/whoami");
    expect(statusOf(denied)).toBe(401);
    expect((gatewayLog("ig-a").match(/GET \/whoami/g) ?? []).length).toBe(before);
  });

  it("exchanges the login link for a Secure, HttpOnly, SameSite=Strict session cookie and a 303 to the clean URL", async () => {
    // A different last hex digit: replacing it with a fixed "0" left the cookie intact 1 time in 16.
    const tampered = (c: string) => c.slice(0, -1) + (c.endsWith("0") ? "1" : "0");
    const { r, cookie } = await login("ig-a");
    expect(statusOf(r)).toBe(303);
    expect(header(r, "location")).toBe("/");
    const set = header(r, "set-cookie")!;
    expect(set).toMatch(/; HttpOnly; Secure; SameSite=Strict; Path=\/$/);
    expect(cookie).not.toContain(tokens["ig-a"]);
    expect(cookie.split("=")[1]).not.toBe(tokens["ig-a"]);
    // The cookie opens the gateway, whose own token check the proxy satisfies upstream.
    const me = await curl("ig-a", h1().ingressAddress, ca1, "/whoami", ["-H", `Cookie: theme=dark; ${cookie}`]);
    expect(statusOf(me)).toBe(200);
    expect(bodyOf(me)).toBe("authorized\n");
    expect(statusOf(await curl("ig-a", h1().ingressAddress, ca1, `/?token=${"0".repeat(64)}`))).toBe(401);
    expect(statusOf(await curl("ig-a", h1().ingressAddress, ca1, "/whoami", ["-H", `Cookie: ${tampered(cookie)}`]))).toBe(401);
    const bearer = await curl("ig-a", h1().ingressAddress, ca1, "/whoami", ["-H", `Authorization: Bearer ${tokens["ig-a"]}`]);
    expect(statusOf(bearer)).toBe(200);
    // Another customer's cookie or token opens nothing here.
    const other = await login("ig-b");
    expect(statusOf(await curl("ig-a", h1().ingressAddress, ca1, "/whoami", ["-H", `Cookie: ${other.cookie}`]))).toBe(401);
    expect(statusOf(await curl("ig-a", h1().ingressAddress, ca1, "/whoami", ["-H", `Authorization: Bearer ${tokens["ig-b"]}`]))).toBe(401);
  });

  it("passes upstream redirects to the client instead of following them, and WebSocket upgrades through", async () => {
    const redirect = await curl("ig-a", h1().ingressAddress, ca1, "/redirect", ["-H", `Authorization: Bearer ${tokens["ig-a"]}`]);
    expect(statusOf(redirect)).toBe(302);
    expect(header(redirect, "location")).toBe("http://127.0.0.1:9/internal");
    const ws = await wsEcho(`ig-a.${DOMAIN}`, h1().ingressAddress, ca1, tokens["ig-a"]!, "ping-through-proxy\n");
    expect(ws).toContain("101 Switching Protocols");
    expect(ws.split("\r\n\r\n")[1]).toBe("ping-through-proxy\n");
  });

  it("presents a certificate for the site that verifies against the sandbox CA", async () => {
    const connect = `openssl s_client -connect ${h1().ingressAddress}:443 -servername ig-a.${DOMAIN} -CAfile ${ca1} -verify_return_error </dev/null 2>/dev/null`;
    const r = await sh(`${connect} | openssl x509 -noout -ext subjectAltName; ${connect} | grep 'Verify return code'`);
    expect(r.stdout).toContain(`DNS:ig-a.${DOMAIN}`);
    expect(r.stdout).toContain("Verify return code: 0 (ok)");
  });

  it("keeps the token out of Caddy's logs and out of every file on the host but .env and the site file (both 0600)", async () => {
    await login("ig-a");
    await curl("ig-a", h1().ingressAddress, ca1, "/whoami", ["-H", `Authorization: Bearer ${tokens["ig-a"]}`]);
    const proxy = proxyContainer(h1().remoteRoot);
    const logs = (await sh(`docker logs ${proxy} 2>&1`)).stdout;
    // Access logging is on, with the login request's URI cut down to its path.
    expect(logs).toContain('"logger":"http.log.access');
    expect(logs).toMatch(/"uri":"\/","headers"/);
    expect(logs).not.toContain(tokens["ig-a"]);
    expect(logs).not.toMatch(/__Host-cf_session=[0-9a-f]/);
    const volume = docker("volume", "inspect", "-f", "{{.Mountpoint}}", docker("inspect", "-f", '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}}', proxy));
    const logFiles = [proxy, "cf-ig-a"].map((c) => docker("inspect", "-f", "{{.LogPath}}", c));
    const found = [h1().remoteRoot, volume, ...logFiles.map((f) => path.dirname(f))].flatMap((d) => filesContaining(d, tokens["ig-a"]!));
    const site = path.join(h1().remoteRoot, "proxy/sites/ig-a.caddy");
    const envFile = path.join(h1().remoteRoot, "instances/ig-a/.env");
    // Docker keeps an env_file's values in the gateway container's own config (root-only, 0600): the
    // gateway contract passes the token as an environment variable. Nothing of the proxy's holds it.
    const dockerConfig = path.join(path.dirname(logFiles[1]!), "config.v2.json");
    expect(found.sort(), found.join("\n")).toEqual([envFile, site, dockerConfig].sort());
    expect([modeOf(envFile), modeOf(site), modeOf(dockerConfig)]).toEqual(["0600", "0600", "0600"]);
    expect(modeOf(path.join(h1().remoteRoot, "proxy/admin"))).toBe("0700");
  });

  it("isolates tenants: no admin API, no other site's upstream, no other tenant", async () => {
    // busybox nc, the tenant's own tool (its wget crashes when given -T); exit 0 means it connected.
    const fromA = (target: string) => sh(`docker exec cf-ig-a sh -c 'printf "GET /healthz HTTP/1.0\\r\\n\\r\\n" | nc -w 2 ${target.replace(":", " ")}'`);
    const bPort = (await cli(["status", "ig-b", "--json"])).json().ports.gateway as number;
    const gw = docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.Gateway}}{{end}}", "cf-ig-a");
    const bIp = docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", "cf-ig-b");
    // The probe works: the tenant reaches its own gateway.
    expect((await fromA("127.0.0.1:18789")).stdout).toContain("200 OK");
    for (const target of [`127.0.0.1:2019`, `${gw}:2019`, `${gw}:${bPort}`, `127.0.0.1:${bPort}`, `${bIp}:18789`, `${h1().ingressAddress}:2019`]) {
      const r = await fromA(target);
      expect(r.code, `tenant reached ${target}: ${r.stdout}`).not.toBe(0);
    }
    // The admin socket is not in any tenant's mounts, and the proxy opens no TCP admin port.
    expect(docker("inspect", "-f", "{{range .Mounts}}{{.Source}} {{end}}", "cf-ig-a")).not.toContain("/proxy");
    const listeners = (await sh(`ss -Hltnp | grep caddy`)).stdout;
    expect(listeners).not.toMatch(/:2019\b/);
    expect(listeners.trim().split("\n").map((l) => l.split(/\s+/)[3]).sort()).toEqual([`${h1().ingressAddress}:443`, `${h1().ingressAddress}:80`].sort());
  });

  it("a reload for one site keeps another site's streaming connection open", async () => {
    const { cookie } = await login("ig-a");
    const stream = openStream("ig-a", h1().ingressAddress, ca1, cookie);
    try {
      await new Promise((r) => setTimeout(r, 1500));
      expect(stream.events()).toBeGreaterThan(2);
      await provision("ig-d", h1().name); // adds a site: a graceful reload
      const atReload = stream.events();
      await new Promise((r) => setTimeout(r, 1500));
      expect(stream.child.exitCode).toBeNull();
      expect(stream.events()).toBeGreaterThan(atReload + 3);
      expect(statusOf(await curl("ig-d", h1().ingressAddress, ca1, "/healthz"))).toBe(200);
    } finally {
      stream.close();
    }
  });

  it("rotate-token revokes the old session and login link at once; upgrade keeps the session", async () => {
    const before = await login("ig-a");
    await cli(["upgrade", "ig-a", "--image", "clawfleet-test-gateway:1.1"]);
    expect(statusOf(await curl("ig-a", h1().ingressAddress, ca1, "/whoami", ["-H", `Cookie: ${before.cookie}`]))).toBe(200);
    const old = tokens["ig-a"]!;
    const rotated = (await cli(["rotate-token", "ig-a", "--json"])).json();
    tokens["ig-a"] = rotated.gatewayToken;
    expect(statusOf(await curl("ig-a", h1().ingressAddress, ca1, "/whoami", ["-H", `Cookie: ${before.cookie}`]))).toBe(401);
    expect(statusOf(await curl("ig-a", h1().ingressAddress, ca1, `/?token=${old}`))).toBe(401);
    const after = await login("ig-a");
    expect(statusOf(after.r)).toBe(303);
    expect(statusOf(await curl("ig-a", h1().ingressAddress, ca1, "/whoami", ["-H", `Cookie: ${after.cookie}`]))).toBe(200);
  });

  it("a site Caddy refuses is never loaded: the previous config stays in force and the provision rolls back", async () => {
    // A hand-made file squats ig-x's name, so the config with ig-x's own site is ambiguous.
    const squat = path.join(h1().remoteRoot, "proxy/sites/squat.caddy");
    writeFileSync(squat, `ig-x.${DOMAIN} {\n\ttls internal\n\trespond "squat"\n}\n`, { mode: 0o600 });
    try {
      const r = await cli(["provision", "--customer-id", "ig-x", "--plan", "free", "--host", h1().name, "--image", IMAGE], 1);
      expect(r.stderr).toContain("the proxy refused the new site; the previous config stays in force");
      expect(r.stderr).toContain(`cannot serve ig-x on ${h1().name}: the proxy site https://ig-x.${DOMAIN}/ could not be installed`);
      expect(r.stderr).not.toMatch(/[0-9a-f]{64}/);
      expect(existsSync(path.join(h1().remoteRoot, "proxy/sites/ig-x.caddy"))).toBe(false);
      expect(docker("ps", "-aq", "--filter", "label=io.clawfleet.customer=ig-x")).toBe("");
      expect(statusOf(await curl("ig-a", h1().ingressAddress, ca1, "/healthz"))).toBe(200);
      expect(statusOf(await curl("ig-x", h1().ingressAddress, ca1, "/healthz"))).toBe(0);
    } finally {
      execFileSync("rm", ["-f", squat]);
      await cli(["destroy", "ig-x", "--force"]);
    }
  });

  it("keeps certificates and keys across a proxy restart, and comes back with every site", async () => {
    const fingerprint = () => sh(`openssl s_client -connect ${h1().ingressAddress}:443 -servername ig-a.${DOMAIN} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`).then((r) => r.stdout.trim());
    const before = await fingerprint();
    expect(before).toMatch(/Fingerprint=/);
    docker("restart", proxyContainer(h1().remoteRoot));
    let after = "";
    for (let i = 0; i < 50 && !after; i++) {
      after = await fingerprint();
      if (!after) await new Promise((r) => setTimeout(r, 200));
    }
    expect(after).toBe(before);
    expect(statusOf(await curl("ig-a", h1().ingressAddress, ca1, "/healthz"))).toBe(200);
    expect(statusOf(await curl("ig-d", h1().ingressAddress, ca1, "/healthz"))).toBe(200);
  });

  it("status shows the public URL and that the site is live; reconcile finds and fixes site drift", async () => {
    const st = (await cli(["status", "ig-a", "--json"])).json();
    expect(st.site).toEqual({ subdomain: "ig-a", publicUrl: `https://ig-a.${DOMAIN}/`, live: true });
    const sites = path.join(h1().remoteRoot, "proxy/sites");
    writeFileSync(path.join(sites, "ghost.caddy"), `ghost.${DOMAIN} {\n\ttls internal\n\trespond "boo"\n}\n`, { mode: 0o600 });
    execFileSync("rm", [path.join(sites, "ig-d.caddy")]);
    const report = (await cli(["reconcile", "--json"], 1)).json();
    const kinds = (report.findings as { kind: string; customerId: string }[]).map((f) => `${f.kind}:${f.customerId}`);
    expect(kinds).toEqual(expect.arrayContaining(["site-orphan:ghost", "site-missing:ig-d"]));
    expect((await cli(["status", "ig-d", "--json"])).json().site.live).toBe(false);
    // Other findings (a leftover of another run on the shared engine) may keep the exit at 1.
    const fixed = (await runCli(["reconcile", "--fix", "--json"], env)).json();
    const siteFixes = (fixed.findings as { kind: string; customerId: string; action: string }[]).filter((f) => f.kind.startsWith("site-")).map((f) => `${f.kind}:${f.customerId}:${f.action}`).sort();
    expect(siteFixes, JSON.stringify(fixed.findings)).toEqual(["site-missing:ig-d:re-provisioned", "site-orphan:ghost:removed"]);
    expect(existsSync(path.join(sites, "ghost.caddy"))).toBe(false);
    expect(statusOf(await curl("ig-d", h1().ingressAddress, ca1, "/healthz"))).toBe(200);
  });

  it("destroy removes the site: the name is no longer served", async () => {
    await cli(["destroy", "ig-b", "--force"]);
    expect(existsSync(path.join(h1().remoteRoot, "proxy/sites/ig-b.caddy"))).toBe(false);
    const r = await curl("ig-b", h1().ingressAddress, ca1, "/healthz");
    expect(statusOf(r)).toBe(0); // no certificate for that name any more: the TLS handshake fails
    expect(statusOf(await curl("ig-a", h1().ingressAddress, ca1, "/healthz"))).toBe(200);
  });

  it("two hosts: each runs its own proxy on its own address", async () => {
    await provision("ig-c", h2().name);
    fetchRootCa(h2().remoteRoot, ca2);
    expect(proxyContainer(h2().remoteRoot)).not.toBe(proxyContainer(h1().remoteRoot));
    expect(statusOf(await curl("ig-c", h2().ingressAddress, ca2, "/healthz"))).toBe(200);
    // h1's proxy does not serve h2's customer, and h2's CA is not h1's.
    expect(statusOf(await curl("ig-c", h1().ingressAddress, ca2, "/healthz"))).toBe(0);
    expect(statusOf(await curl("ig-a", h1().ingressAddress, ca2, "/healthz"))).toBe(0);
  });

  it("refuses to start when 80 or 443 on the ingress address is taken, naming the port, and leaves nothing half-served", async () => {
    const squatter = net.createServer((s) => s.end());
    await new Promise<void>((r) => squatter.listen(443, h3().ingressAddress, r));
    try {
      const r = await cli(["provision", "--customer-id", "ig-e", "--plan", "free", "--host", h3().name, "--image", IMAGE], 1);
      expect(r.stderr).toContain(`port 443 on ${h3().ingressAddress} is taken by ${h3().ingressAddress}:443`);
      expect(r.stderr).toMatch(/free them, or give this host another --ingress-address/);
      expect(docker("ps", "-aq", "--filter", "label=io.clawfleet.customer=ig-e")).toBe("");
      expect(proxyContainer(h3().remoteRoot)).toBe("");
      expect((await cli(["status", "ig-e", "--json"])).json().status).toBe("failed");
    } finally {
      await new Promise((r) => squatter.close(r));
    }
  });
});
