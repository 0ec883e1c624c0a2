// Ingress: requests through the host's Caddy against straight to the gateway's loopback port, and
// the time the site step adds to a provision. Side by side in one run, interleaved.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import http from "node:http";
import https from "node:https";
import { median, publish, removeInstance, repoRoot, round, startSandbox, table } from "./lib.mjs";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4);
const IMAGE = "clawfleet-test-gateway:1.0";
const DOMAIN = "clawfleet.test";
const tmp = mkdtempSync(path.join(os.tmpdir(), "cf-bench-ig-"));
const [h] = startSandbox(1);
const { createFleet } = await import(path.join(repoRoot, "dist/index.js"));
const dbUrl = `file:${path.join(tmp, "bench.db")}`;
const shipped = readFileSync(path.join(repoRoot, "templates/plans.yaml"), "utf8");
const plain = path.join(tmp, "plans.yaml");
const withIngress = path.join(tmp, "plans-ingress.yaml");
writeFileSync(plain, shipped);
writeFileSync(withIngress, `${shipped}\ningress:\n  domain: ${DOMAIN}\n  tls: internal\n  image: ${h.proxyImage}\n`);

const proxyOf = () => execFileSync("docker", ["ps", "-aq", "--filter", "label=io.clawfleet.proxy=true", "--filter", `label=io.clawfleet.root=${h.remoteRoot}`], { encoding: "utf8" }).trim();
function removeProxy() {
  const id = proxyOf();
  if (id) execFileSync("bash", ["-c", `docker rm -f ${id} >/dev/null; docker volume ls -q --filter label=io.clawfleet.proxy=true | xargs -r docker volume rm -f >/dev/null 2>&1; true`]);
  execFileSync("rm", ["-rf", path.join(h.remoteRoot, "proxy")]);
}

removeProxy();
const fleet = await createFleet({ databaseUrl: dbUrl, actor: "bench" });
await fleet.hosts.add({ name: "ig", ssh: `${h.user}@${h.address}:${h.port}`, identityFile: h.identityFile, hostKey: h.fingerprint, remoteRoot: h.remoteRoot, shared: true, ingressAddress: h.ingressAddress });

async function provisionOnce(customer, plansFile) {
  removeInstance(customer, [h.remoteRoot]);
  const r = await fleet.provision({ customerId: customer, plan: "free", host: "ig", image: IMAGE, plansFile });
  await fleet.destroy({ customerId: customer, force: true });
  removeInstance(customer, [h.remoteRoot]);
  return r;
}

/**
 * `connections` loops of GET for `durationMs`, each timing its own requests; one keep-alive agent per
 * target, so a client reuses what the server keeps open (Caddy does, the gateway closes each).
 */
async function hammer(mod, options, connections, durationMs) {
  const agent = new mod.Agent({ keepAlive: true, maxSockets: connections });
  const latencies = [];
  let bad = 0;
  const end = performance.now() + durationMs;
  const once = () => new Promise((resolve) => {
    const t = performance.now();
    const req = mod.get({ ...options, agent }, (res) => {
      res.resume();
      res.on("end", () => {
        if (res.statusCode === 200) latencies.push(performance.now() - t);
        else bad++;
        resolve();
      });
    });
    req.on("error", () => { bad++; resolve(); });
  });
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, async () => { while (performance.now() < end) await once(); }));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  const sorted = latencies.sort((a, b) => a - b);
  const pct = (p) => round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN, 2);
  return { rps: latencies.length / elapsed, p50: pct(50), p99: pct(99), requests: latencies.length + bad, bad };
}

// 1. The site step's cost: the first provision starts the proxy (cold); later ones only add a site.
const cold = await provisionOnce("bi-cold", withIngress);
console.error(`cold (proxy started): ${cold.durationMs} ms`);
const prov = { plain: [], ingress: [] };
for (let i = 0; i < RUNS; i++) {
  for (const [kind, file] of [["plain", plain], ["ingress", withIngress]]) {
    const r = await provisionOnce(`bi-${kind}-${i}`, file);
    prov[kind].push({ durationMs: r.durationMs, remoteScript: r.timings.remoteScript });
    console.error(`run ${i} ${kind}: ${r.durationMs} ms (remote ${r.timings.remoteScript} ms)`);
  }
}

// 2. Requests: one instance, its /whoami (the gateway checks the token) straight and through Caddy.
removeInstance("bi-rps", [h.remoteRoot]);
const live = await fleet.provision({ customerId: "bi-rps", plan: "free", host: "ig", image: IMAGE, plansFile: withIngress });
const site = `bi-rps.${DOMAIN}`;
const login = execFileSync("curl", ["-sk", "-o", "/dev/null", "-D", "-", "--resolve", `${site}:443:${h.ingressAddress}`, live.loginUrl], { encoding: "utf8" });
const cookie = /^set-cookie: ([^;]+)/im.exec(login)?.[1];
if (!cookie) throw new Error(`no session cookie from the login exchange:\n${login}`);
execFileSync("docker", ["cp", `${proxyOf()}:/data/caddy/pki/authorities/local/root.crt`, path.join(tmp, "ca.crt")]);
const ca = readFileSync(path.join(tmp, "ca.crt"));
const targets = {
  direct: { mod: http, options: { host: "127.0.0.1", port: live.ports.gateway, path: "/whoami", headers: { authorization: `Bearer ${live.gatewayToken}` } } },
  proxy: { mod: https, options: { host: h.ingressAddress, port: 443, servername: site, ca, path: "/whoami", headers: { host: site, cookie } } },
};
const load = { direct: [], proxy: [] };
for (let i = 0; i < ROUNDS; i++) {
  for (const [kind, t] of Object.entries(targets)) {
    const r = await hammer(t.mod, t.options, CONNECTIONS, SECONDS * 1000);
    load[kind].push(r);
    console.error(`round ${i} ${kind}: ${Math.round(r.rps)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.bad} bad of ${r.requests}`);
  }
}
await fleet.destroy({ customerId: "bi-rps", force: true });
removeInstance("bi-rps", [h.remoteRoot]);
await fleet.close();
removeProxy();

const med = (xs, k) => median(xs.map((x) => x[k]));
const rps = { direct: med(load.direct, "rps"), proxy: med(load.proxy, "rps") };
const p99 = { direct: med(load.direct, "p99"), proxy: med(load.proxy, "p99") };
const p50 = { direct: med(load.direct, "p50"), proxy: med(load.proxy, "p50") };
const plainMs = med(prov.plain, "durationMs");
const ingressMs = med(prov.ingress, "durationMs");
const results = {
  runs: RUNS, rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, provision: prov, coldMs: cold.durationMs, load,
  ratios: { p99: round(p99.proxy / p99.direct, 2), rps: round(rps.proxy / rps.direct, 2), siteStepMs: Math.round(ingressMs - plainMs) },
};
console.log(JSON.stringify(results.ratios, null, 2));
const ms = (x) => `${Math.round(x)} ms`;
publish(
  "ingress",
  results,
  `## Ingress: through Caddy against straight to the gateway

One sandbox host; its proxy is the sandbox's Caddy (Debian's 2.6.2) in the host network namespace, \`tls internal\`. Load is the same Node client for both (\`scripts/bench/ingress.mjs\`: ${CONNECTIONS} concurrent request loops for ${SECONDS} s, keep-alive agents, each request timed), alternating direct and proxied rounds (${ROUNDS} each, medians shown), on \`GET /whoami\`, which the gateway answers only with its token: directly with \`Authorization: Bearer\`, through the proxy with the session cookie (the proxy sets the gateway's credential upstream). The test gateway is busybox \`nc\` forking a shell per request, with \`Connection: close\`, so it sets the pace; through Caddy the client keeps its TLS connection and Caddy dials the gateway per request.

${table(
  ["", "straight to 127.0.0.1", "through Caddy (HTTPS)", "ratio", "target"],
  [
    ["p99 latency", ms(p99.direct), ms(p99.proxy), `**${results.ratios.p99}×**`, "≤ 1.5×"],
    ["p50 latency", ms(p50.direct), ms(p50.proxy), `${round(p50.proxy / p50.direct, 2)}×`, ""],
    ["requests/s", String(Math.round(rps.direct)), String(Math.round(rps.proxy)), `${results.ratios.rps}×`, ""],
  ],
)}

**The site step in a provision** (free plan, fresh instance each time, destroyed after; ${RUNS} runs each, interleaved): ${ms(plainMs)} without ingress, ${ms(ingressMs)} with it, so the site (staged with the other files in the same round trip, installed and reloaded by provision.sh) adds **${ms(ingressMs - plainMs)}**. The first provision on a host also starts the proxy: ${ms(cold.durationMs)} in all.`,
);
