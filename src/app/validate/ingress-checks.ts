import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import type { IngressConfig } from "../../domain/plans.js";
import { renderProxyFiles, renderSite, streamCloseDelay } from "../../render/ingress.js";
import { SAMPLE_GATEWAY_TOKEN, SAMPLE_SESSION_SECRET } from "../../render/sample.js";
import type { CheckResult } from "./plan.js";
import { runTool } from "./tools.js";

const SAMPLE_ROOT = "/opt/clawfleet";
const SAMPLE_CUSTOMER = "sample-site";

/**
 * The ingress section's rendered files: the proxy's compose file (parsed, hardened, pinned), its
 * Caddyfile and a sample site, adapted and validated by `caddy` when it is installed (required
 * under CI). Secrets in the sample are fake.
 */
export async function checkIngress(ingress: IngressConfig, templatesDir: string, tmp: string, o: { caddyBin: string; requireCaddy: boolean }): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const add = (c: Omit<CheckResult, "plan">) => out.push({ plan: null, ...c });
  let files: { compose: string; caddyfile: string; site: string };
  const siteFor = (image: string) => renderSite({ ...ingress, image }, { customerId: SAMPLE_CUSTOMER, subdomain: SAMPLE_CUSTOMER, gatewayPort: 18800, gatewayToken: SAMPLE_GATEWAY_TOKEN, sessionSecret: SAMPLE_SESSION_SECRET }, templatesDir);
  try {
    files = { ...renderProxyFiles(ingress, SAMPLE_ROOT, "203.0.113.7", templatesDir), site: siteFor(ingress.image) };
    add({ check: "ingress.render", title: "proxy files render in strict mode", status: "pass", file: "proxy/" });
  } catch (err) {
    add({ check: "ingress.render", title: "proxy files render in strict mode", status: "fail", file: "proxy/", reason: err instanceof Error ? err.message : String(err) });
    return out;
  }
  const problems = composeProblems(files.compose);
  add({ check: "ingress.compose", title: "proxy compose file: host network, hardened, no published ports", status: problems.length ? "fail" : "pass", file: "proxy/docker-compose.yml.hbs", reason: problems.join("; ") || undefined });
  out.push(await caddyCheck(files, tmp, { ...o, image: ingress.image, siteFor }));
  return out;
}

function composeProblems(text: string): string[] {
  let doc: { services?: Record<string, Record<string, unknown>> };
  try {
    doc = parse(text) as typeof doc;
  } catch (err) {
    return [`not YAML: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`];
  }
  const svc = Object.values(doc?.services ?? {})[0];
  if (!svc) return ["no service"];
  const p: string[] = [];
  if (svc.network_mode !== "host") p.push("network_mode must be host (the proxy reaches gateways on 127.0.0.1)");
  if (!(Array.isArray(svc.cap_drop) && svc.cap_drop.includes("ALL"))) p.push("cap_drop must include ALL");
  if (!(Array.isArray(svc.security_opt) && svc.security_opt.some((s) => String(s).startsWith("no-new-privileges")))) p.push("security_opt must set no-new-privileges");
  if (svc.read_only !== true) p.push("read_only must be true");
  if (svc.restart !== "unless-stopped") p.push("restart must be unless-stopped");
  if (svc.ports) p.push("ports must not be published (host networking binds 80/443 itself)");
  const labels = (svc.labels ?? {}) as Record<string, string>;
  if (labels["io.clawfleet.proxy"] !== "true") p.push("label io.clawfleet.proxy=true is missing");
  return p;
}

interface CaddyCheckOptions {
  caddyBin: string;
  requireCaddy: boolean;
  image: string;
  siteFor: (image: string) => string;
}

async function caddyCheck(files: { caddyfile: string; site: string }, tmp: string, o: CaddyCheckOptions): Promise<CheckResult> {
  const base = { plan: null, check: "ingress.caddy", title: "caddy adapt --validate (Caddyfile and a sample site)", file: "proxy/Caddyfile.hbs" };
  const version = await runTool(o.caddyBin, ["version"]);
  if (version.missing) {
    return o.requireCaddy
      ? { ...base, status: "fail", reason: "caddy is not installed, and CI requires it" }
      : { ...base, status: "skip", reason: "caddy is not installed (install it: CI fails without it)" };
  }
  // A local caddy older than the image rejects the image's newer lines: check the site as it renders for the local one.
  const local = /v?(\d+\.\d+\.\d+)/.exec(version.stdout)?.[1];
  let note: string | undefined;
  let site = files.site;
  if (local && streamCloseDelay(o.image) && !streamCloseDelay(`caddy:${local}`)) {
    site = o.siteFor(`caddy:${local}`);
    note = `checked with the local caddy ${local}, older than ${o.image}: the site's 2.7+ lines (stream_close_delay) were left out`;
  }
  const dir = path.join(tmp, "proxy");
  await mkdir(path.join(dir, "sites"), { recursive: true });
  await writeFile(path.join(dir, "Caddyfile"), files.caddyfile);
  await writeFile(path.join(dir, "sites", `${SAMPLE_CUSTOMER}.caddy`), site, { mode: 0o600 });
  // Caddy resolves `import sites/*.caddy` from its working directory; its state goes to tmp, not $HOME.
  const env = { ...process.env, XDG_DATA_HOME: path.join(tmp, "caddy-data"), XDG_CONFIG_HOME: path.join(tmp, "caddy-config") };
  const run = await runTool(o.caddyBin, ["adapt", "--config", path.join(dir, "Caddyfile"), "--adapter", "caddyfile", "--validate"], { cwd: dir, env });
  if (run.code === 0) return { ...base, status: "pass", ...(note ? { reason: note } : {}) };
  const message = run.stderr.trim().split("\n").filter((l) => !l.startsWith("{")).pop() ?? `exit ${run.code}`;
  return { ...base, status: "fail", reason: message.replaceAll(SAMPLE_GATEWAY_TOKEN, "<token>").replaceAll(SAMPLE_SESSION_SECRET, "<session>") };
}
