import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { getPlan, loadPlans, type IngressConfig } from "../../../src/domain/plans.js";
import { proxyProject } from "../../../src/domain/proxy-paths.js";
import { renderInstance, renderSampleContext } from "../../../src/render/index.js";
import { renderProxyFiles, renderSite, streamCloseDelay } from "../../../src/render/ingress.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "cf-ingress-render-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ingress: IngressConfig = { domain: "clawdet.example", tls: "acme", acmeEmail: "ops@clawdet.example", image: "caddy:2.8.4" };
const TOKEN = "a1".repeat(32);
const SESSION = "5e".repeat(32);
const site = (over: Partial<IngressConfig> = {}) => renderSite({ ...ingress, ...over }, { customerId: "acme", subdomain: "shop", gatewayPort: 18920, gatewayToken: TOKEN, sessionSecret: SESSION });

describe("site file", () => {
  it("serves only its own name and forwards only to its own loopback port", () => {
    const text = site();
    expect(text).toMatch(/^shop\.clawdet\.example \{$/m);
    const upstreams = [...text.matchAll(/reverse_proxy (\S+)/g)].map((m) => m[1]);
    expect(new Set(upstreams)).toEqual(new Set(["127.0.0.1:18920"]));
    expect(text).not.toContain("{http.request");
  });

  it("exchanges ?token= for a Secure, HttpOnly, SameSite=Strict cookie whose value is the session secret", () => {
    const text = site();
    expect(text).toContain(`@login query token=${TOKEN}`);
    expect(text).toContain(`header Set-Cookie "__Host-cf_session=${SESSION}; HttpOnly; Secure; SameSite=Strict; Path=/"`);
    expect(text).toContain("redir {path} 303");
    expect(text).toContain(`@bearer header Authorization "Bearer ${TOKEN}"`);
    expect(text).toContain(`header_up Authorization "Bearer ${TOKEN}"`);
    // Everything else is refused at the proxy.
    expect(text.trimEnd()).toMatch(/handle \{\n\t\trespond "[^"]+" 401\n\t\}\n\}$/);
  });

  it("uses Caddy's local CA only with tls: internal", () => {
    expect(site()).not.toContain("tls internal");
    expect(site({ tls: "internal", acmeEmail: null })).toContain("tls internal");
  });

  it("keeps WebSockets across reloads only where the image's Caddy knows stream_close_delay (2.7+)", () => {
    expect(streamCloseDelay("caddy:2.8.4")).toBe("24h");
    expect(streamCloseDelay("registry.example:5000/caddy:2.10.0-alpine")).toBe("24h");
    expect(streamCloseDelay("clawfleet-sandbox-caddy:2.6.2")).toBeNull();
    expect(streamCloseDelay("caddy@sha256:" + "0".repeat(64))).toBeNull();
    expect(site()).toContain("stream_close_delay 24h");
    expect(site({ image: "clawfleet-sandbox-caddy:2.6.2" })).not.toContain("stream_close_delay");
  });
});

describe("proxy files", () => {
  it("Caddyfile: admin on a unix socket only, the bind address, the ACME email, and logs without credentials", () => {
    const { caddyfile } = renderProxyFiles(ingress, "/opt/clawfleet", "203.0.113.7");
    expect(caddyfile).toContain("admin unix//run/clawfleet/admin.sock");
    expect(caddyfile).not.toMatch(/^\s*admin (?!unix\/\/)/m);
    expect(caddyfile).toContain("default_bind 203.0.113.7");
    expect(caddyfile).toContain("email ops@clawdet.example");
    expect(caddyfile).toContain("import sites/*.caddy");
    for (const field of ["request>headers>Cookie delete", "request>headers>Authorization delete", "resp_headers>Set-Cookie delete", "delete token"]) {
      expect(caddyfile.split(field).length - 1).toBe(2); // the default log and the access log snippet
    }
    expect(renderProxyFiles(ingress, "/opt/clawfleet", null).caddyfile).not.toContain("default_bind");
  });

  it("compose: host network, hardened, certificates in a named volume, autosaved config in memory", () => {
    const doc = parse(renderProxyFiles(ingress, "/opt/clawfleet", null).compose) as { services: Record<string, Record<string, unknown>>; volumes: Record<string, { name: string }> };
    const svc = doc.services.caddy!;
    expect(svc).toMatchObject({ image: "caddy:2.8.4", network_mode: "host", restart: "unless-stopped", read_only: true, cap_drop: ["ALL"], security_opt: ["no-new-privileges:true"] });
    expect(svc.cap_add).toEqual(["NET_BIND_SERVICE", "DAC_OVERRIDE"]);
    expect(svc.ports).toBeUndefined();
    expect(svc.tmpfs).toContain("/config:rw,nosuid,nodev,size=16m");
    expect(svc.labels).toMatchObject({ "io.clawfleet.proxy": "true" });
    expect(doc.volumes.data!.name).toBe("cf-proxy-data");
    expect(svc.volumes).toContainEqual({ type: "bind", source: "/opt/clawfleet/proxy", target: "/etc/caddy", read_only: true });
    expect(svc.volumes).toContainEqual({ type: "bind", source: "/opt/clawfleet/proxy/admin", target: "/run/clawfleet" });
  });

  it("names the project cf-proxy under the default root, and one per root on a shared engine", () => {
    expect(proxyProject("/opt/clawfleet")).toBe("cf-proxy");
    expect(proxyProject("/opt/clawfleet/")).toBe("cf-proxy");
    expect(proxyProject("/srv/a")).toMatch(/^cf-proxy-[0-9a-f]{8}$/);
    expect(proxyProject("/srv/a")).not.toBe(proxyProject("/srv/b"));
  });

  it("passes caddy adapt --validate with a site (skipped without caddy, except under CI)", () => {
    const dir = path.join(tmp, "caddy");
    execFileSync("mkdir", ["-p", path.join(dir, "sites")]);
    writeFileSync(path.join(dir, "Caddyfile"), renderProxyFiles({ ...ingress, tls: "internal" }, "/opt/clawfleet", "127.0.0.1").caddyfile);
    writeFileSync(path.join(dir, "sites", "acme.caddy"), site({ tls: "internal", image: "clawfleet-sandbox-caddy:2.6.2" }));
    const res = spawnSync("caddy", ["adapt", "--config", "Caddyfile", "--validate"], { cwd: dir, encoding: "utf8", env: { ...process.env, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir } });
    if (res.error && process.env.CI !== "true") return void console.warn("\n!!! caddy is not installed: Caddyfile validation SKIPPED (CI fails here) !!!\n");
    expect(res.stderr).not.toMatch(/Error/);
    expect(res.status).toBe(0);
  });
});

describe("provision.sh with ingress", () => {
  it("passes bash -n and shellcheck", async () => {
    const plans = await loadPlans();
    const ctx = renderSampleContext(getPlan(plans, "pro"), { ingress: { proxyDir: "/opt/clawfleet/proxy", project: "cf-proxy", siteHost: "shop.clawdet.example", address: "", socketInContainer: "/run/clawfleet/admin.sock" } });
    const script = renderInstance(ctx).files.provisionSh;
    expect(script).toContain("install_ingress");
    expect(script).toContain("check_ingress_ports");
    const file = path.join(tmp, "provision-ingress.sh");
    writeFileSync(file, script);
    execFileSync("bash", ["-n", file]);
    const res = spawnSync("shellcheck", ["--norc", "--format=gcc", file], { encoding: "utf8" });
    if (res.error && process.env.CI !== "true") return void console.warn("\n!!! shellcheck is not installed: lint SKIPPED (CI fails here) !!!\n");
    expect(res.stdout).toBe("");
    expect(res.status).toBe(0);
    expect(renderInstance(renderSampleContext(getPlan(plans, "pro"))).files.provisionSh).not.toContain("install_ingress");
  });
});
