// 20 provisions at once over 5 sandbox hosts (4 free instances per shared host), through one
// library fleet as a billing API would issue them: throughput, p50 and p95, every one healthy.
// All sandbox hosts share this machine's one Docker Engine and its 2 cores, so this is a worst case
// for the engine: 20 `compose up`s on one dockerd.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { publish, removeInstance, repoRoot, round, startSandbox, table } from "./lib.mjs";

const HOSTS = 5;
const COUNT = Number(process.env.BENCH_PARALLEL ?? 20);
const IMAGE = "clawfleet-test-gateway:1.0";
const tmp = mkdtempSync(path.join(os.tmpdir(), "cf-bench-par-"));
const hosts = startSandbox(HOSTS);
const { createFleet } = await import(path.join(repoRoot, "dist/index.js"));
const customers = Array.from({ length: COUNT }, (_, i) => `par-${i}`);
const cleanup = () => customers.forEach((c) => removeInstance(c, hosts.map((h) => h.remoteRoot)));
cleanup();

const fleet = await createFleet({ databaseUrl: `file:${path.join(tmp, "bench.db")}`, actor: "bench" });
for (const [i, h] of hosts.entries()) {
  await fleet.hosts.add({ name: `par${i}`, ssh: `${h.user}@${h.address}:${h.port}`, identityFile: h.identityFile, hostKey: h.fingerprint, remoteRoot: h.remoteRoot, shared: true });
}
// The sandbox hosts share one engine and one loopback, where real hosts have their own: give each
// host its own port range (a plans file per host with its own basePort) so their slots never collide.
const shipped = readFileSync(path.join(repoRoot, "templates/plans.yaml"), "utf8");
const plansFor = hosts.map((_, i) => {
  const file = path.join(tmp, `plans-${i}.yaml`);
  writeFileSync(file, shipped.replace(/basePort: \d+/, `basePort: ${20800 + i * 1200}`));
  return file;
});
const started = performance.now();
const outcomes = await Promise.all(customers.map(async (customerId, i) => {
  const t = performance.now();
  try {
    const r = await fleet.provision({ customerId, plan: "free", host: `par${i % HOSTS}`, image: IMAGE, plansFile: plansFor[i % HOSTS] });
    return { customerId, ok: r.status === "healthy", ms: performance.now() - t, remoteScriptMs: r.timings.remoteScript, url: r.url };
  } catch (err) {
    return { customerId, ok: false, ms: performance.now() - t, error: String(err?.message ?? err).slice(0, 300), stderrTail: String(err?.stderrTail ?? "").slice(-1500) };
  }
}));
const wallMs = performance.now() - started;
const healthz = await Promise.all(outcomes.filter((o) => o.url).map(async (o) => (await fetch(`${o.url}healthz`).catch(() => null))?.status === 200));
for (const c of customers) await fleet.destroy({ customerId: c, force: true }).catch(() => undefined);
await fleet.close();
cleanup();

const sorted = outcomes.map((o) => o.ms).sort((a, b) => a - b);
const pct = (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const ok = outcomes.filter((o) => o.ok).length;
const results = { hosts: HOSTS, count: COUNT, wallMs, throughputPerMin: (ok / wallMs) * 60_000, p50Ms: pct(50), p95Ms: pct(95), ok, healthzOk: healthz.filter(Boolean).length, outcomes };
console.log(JSON.stringify({ wallMs, ok, p50: pct(50), p95: pct(95) }, null, 2));
for (const o of outcomes.filter((x) => !x.ok)) console.error(`failed ${o.customerId}: ${o.error}\n${o.stderrTail ?? ""}`);
const s = (x) => `${round(x / 1000, 2)} s`;
publish(
  "parallel",
  results,
  `## 20 provisions in parallel over 5 hosts

${COUNT} \`free\` provisions of the test image issued at once through one library fleet, ${COUNT / HOSTS} per sandbox host, each host a real sshd with its own remote root. The hosts share this machine's single Docker Engine, loopback and 2 cores, so every \`compose up\` lands on one dockerd (a harsher test than ${HOSTS} real VPSes), and each host gets its own port range (its own \`basePort\`) as separate machines would have.

${table(
  ["provisions", "healthy", "/healthz 200 afterwards", "wall time", "throughput", "p50", "p95"],
  [[String(COUNT), `${ok}/${COUNT}`, `${results.healthzOk}/${COUNT}`, s(wallMs), `${round(results.throughputPerMin, 1)} per minute`, s(pct(50)), s(pct(95))]],
)}

Before the CDP range became opt-in, 8 concurrent provisions on one host started 824 docker-proxy processes and all 8 failed on compose's 60 s timeout.`,
);
