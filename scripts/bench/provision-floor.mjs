// Provision on a warm sandbox host against the compose floor, per shipped plan, side by side in one
// run (interleaved: floor, free, floor, pro, …). Also the CDP range published (cdpPorts: true), the
// measurement behind plans.yaml's default. Library calls with a fresh connection each time.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { composeFloor } from "./floor.mjs";
import { median, publish, removeInstance, repoRoot, round, startSandbox, table } from "./lib.mjs";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const IMAGE = "clawfleet-test-gateway:1.0";
const tmp = mkdtempSync(path.join(os.tmpdir(), "cf-bench-pf-"));
const hosts = startSandbox(3);
const { createFleet } = await import(path.join(repoRoot, "dist/index.js"));
const dbUrl = `file:${path.join(tmp, "bench.db")}`;
const cdpPlans = path.join(tmp, "plans-cdp.yaml");
writeFileSync(cdpPlans, readFileSync(path.join(repoRoot, "templates/plans.yaml"), "utf8").replace("expiresAfter: 7d }", "expiresAfter: 7d, cdpPorts: true }"));

// free on a shared host; pro and enterprise each on a host of their own.
const placement = { free: 0, pro: 1, enterprise: 2 };
const setup = await createFleet({ databaseUrl: dbUrl, actor: "bench" });
for (const [i, h] of hosts.slice(0, 3).entries()) {
  await setup.hosts.add({ name: `pf${i}`, ssh: `${h.user}@${h.address}:${h.port}`, identityFile: h.identityFile, hostKey: h.fingerprint, remoteRoot: h.remoteRoot, shared: i === 0 });
}
await setup.close();

const cleanup = (customer, root) => removeInstance(customer, [root]);

async function provisionOnce(plan, customer, plansFile) {
  const h = hosts[placement[plan]];
  cleanup(customer, h.remoteRoot);
  const fleet = await createFleet({ databaseUrl: dbUrl, actor: "bench" });
  try {
    const r = await fleet.provision({ customerId: customer, plan, host: `pf${placement[plan]}`, image: IMAGE, plansFile });
    await fleet.destroy({ customerId: customer, force: true });
    return r;
  } finally {
    await fleet.close();
    cleanup(customer, h.remoteRoot);
  }
}

const floor = composeFloor(path.join(tmp, "floor"), "cfbench-floor", 28700, IMAGE);
const rows = { floor: [], free: [], pro: [], enterprise: [], cdp: [] };
const detail = { free: [], pro: [], enterprise: [], cdp: [] };
for (let i = 0; i < RUNS; i++) {
  for (const plan of ["free", "pro", "enterprise"]) {
    floor.down();
    rows.floor.push(await floor.up());
    floor.down();
    const r = await provisionOnce(plan, `pf-${plan}-${i}`);
    rows[plan].push(r.durationMs);
    detail[plan].push({ durationMs: r.durationMs, composeRuns: r.composeRuns, ...r.timings });
    console.error(`run ${i} ${plan}: ${r.durationMs} ms (floor ${Math.round(rows.floor.at(-1))} ms)`, JSON.stringify(r.timings));
  }
  if (i < 3) {
    const r = await provisionOnce("free", `pf-cdp-${i}`, cdpPlans);
    rows.cdp.push(r.durationMs);
    detail.cdp.push({ durationMs: r.durationMs, composeRuns: r.composeRuns, ...r.timings });
    console.error(`run ${i} free with cdpPorts: ${r.durationMs} ms`);
  }
}
floor.remove();

const f = median(rows.floor);
const ms = (x) => `${Math.round(x)} ms`;
const ratio = (xs) => round(median(xs) / f, 2);
const results = { runs: RUNS, floorMs: rows.floor, provisionMs: rows, detail, ratios: Object.fromEntries(["free", "pro", "enterprise", "cdp"].map((p) => [p, ratio(rows[p])])) };
console.log(JSON.stringify(results.ratios, null, 2));
const step = (plan, k) => ms(median(detail[plan].map((d) => d[k] ?? 0)));
publish(
  "provision-floor",
  results,
  `## Provision against the compose floor

The floor is what Docker itself needs: \`docker-compose up -d\` of a one-service file with the same test image on one loopback port, run directly on this machine (no SSH), then \`/healthz\` polled every 20 ms until it answers 200. A provision is one library call with a fresh SSH connection (place, connect, prepare, upload, provision.sh, record) on a warm sandbox host; the instance is destroyed between runs. Median of ${RUNS} runs each, interleaved with the floor in one run.

${table(
  ["plan", "provision", "floor (same run)", "ratio", "target", "remote provision.sh", "compose runs"],
  [
    ...["free", "pro", "enterprise"].map((p) => [p, ms(median(rows[p])), ms(f), `**${ratio(rows[p])}×**`, "≤ 2.5×", step(p, "remoteScript"), String(median(detail[p].map((d) => d.composeRuns)))]),
    ["free with \`cdpPorts: true\` (100 more ports)", ms(median(rows.cdp)), ms(f), `${ratio(rows.cdp)}×`, "", step("cdp", "remoteScript"), String(median(detail.cdp.map((d) => d.composeRuns)))],
  ],
)}

Client steps of a \`free\` provision (medians): place ${step("free", "place")}, connect ${step("free", "connect")}, prepare (mkdir, the 3 files over stdin, port check) ${step("free", "prepare")}, record ${step("free", "record")}. Readiness is the gateway's own \`/healthz\` answering 200 (probed every 0.1 s) with Docker's health not \`unhealthy\`, so no provision waits for Docker's 5 s healthcheck interval. The \`cdpPorts\` row is why no shipped plan publishes the CDP range: Docker starts one docker-proxy process per published port.`,
);
