// Health sweep benchmark (issue 5): sandbox hosts behind 50 ms RTT delay proxies, several real gateway
// containers per host. Our sweep (cold and warm) is measured side by side, in one run, with a bare
// ssh2 exec of the same check on every host (the floor), parallel-ssh and an Ansible ad-hoc command.
// Then a curve for 10/50/100 hosts, and the daemon's RSS with 1,000 instances.
// Env: BENCH_RTT (50), BENCH_RUNS (5), BENCH_CURVE ("10,50,100"), BENCH_RSS_SECONDS (60), BENCH_KEEP=1 keeps containers.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { median, publish, repoRoot, round, table } from "./lib.mjs";
import { ansibleRunner, closeFloor, connectFloor, execFloor, psshRunner, writeKnownHosts } from "./health/peers.mjs";
import { markdown } from "./health/report.mjs";
import { customerOf, ensureContainers, portOf, removeContainers, removeHostScripts, restoreSandbox, seedDb, slotOf, startHosts, startProxies, writeHostScripts } from "./health/setup.mjs";

const RTT = Number(process.env.BENCH_RTT ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MAIN = 20;
const PER_HOST = 3;
const CURVE = (process.env.BENCH_CURVE ?? "10,50,100").split(",").filter(Boolean).map(Number);
const CURVE_PER_HOST = 2;
const CURVE_RUNS = Math.max(3, Math.ceil(RUNS / 2));
const RSS_SECONDS = Number(process.env.BENCH_RSS_SECONDS ?? 60);
const dist = (p) => import(path.join(repoRoot, "dist", p));
const log = (...a) => console.error("[health bench]", ...a);

const [{ createFleet }, { openStore }, { sweepScript }, { wrapCommand }, { SWEEP_TIMEOUT_MS }] = await Promise.all([
  dist("index.js"), dist("store/open.js"), dist("remote/commands/health.js"), dist("remote/ssh-exec.js"), dist("app/health/host.js"),
]);
const tmp = mkdtempSync(path.join(os.tmpdir(), "cf-bench-health-"));
const maxHosts = Math.max(MAIN, ...CURVE);
log(`starting ${maxHosts} sandbox hosts and delay proxies at ${RTT} ms RTT`);
const hosts = startHosts(maxHosts);
const proxies = await startProxies(hosts, RTT);
const results = { rttMs: RTT, runs: RUNS };
try {
  const pairs = hosts.flatMap((_, i) => Array.from({ length: i < MAIN ? PER_HOST : CURVE_PER_HOST }, (_, j) => [i, j]));
  log(`ensuring ${pairs.length} gateway containers (created ${ensureContainers(pairs)})`);
  writeHostScripts(sweepScript, hosts.slice(0, MAIN), PER_HOST);
  writeHostScripts(sweepScript, hosts, CURVE_PER_HOST);
  const knownHosts = writeKnownHosts(tmp, hosts, proxies);
  results.main = await compare(MAIN, PER_HOST, RUNS, true, knownHosts);
  results.curve = [];
  for (const n of CURVE) results.curve.push(await compare(n, CURVE_PER_HOST, CURVE_RUNS, false, knownHosts));
  const unitNodeOptions = /^Environment="NODE_OPTIONS=(.*)"$/m.exec(readFileSync(path.join(repoRoot, "scripts/clawfleet-health.service"), "utf8"))?.[1] ?? "";
  results.daemon = await daemonRss(hosts.slice(0, MAIN), 1000 / MAIN - PER_HOST, unitNodeOptions);
  results.daemonDefaults = await daemonRss(hosts.slice(0, MAIN), 1000 / MAIN - PER_HOST, "");
} finally {
  proxies.stop();
  if (!process.env.BENCH_KEEP) removeContainers();
  removeHostScripts(hosts);
  restoreSandbox(maxHosts);
  rmSync(tmp, { recursive: true, force: true });
}
console.log(JSON.stringify(results, null, 2));
publish("health", results, markdown(results, { curvePerHost: CURVE_PER_HOST, curveRuns: CURVE_RUNS }));

/** All contenders on the first n hosts, interleaved run by run so drift hits them alike. */
async function compare(n, perHost, runs, withAnsible, knownHosts) {
  const sub = hosts.slice(0, n);
  const url = `file:${path.join(tmp, `health-${n}-${perHost}.db`)}`;
  await seedDb(openStore, url, sub, proxies, perHost);
  const commands = sub.map((_, i) => wrapCommand(sweepScript(Array.from({ length: perHost }, (_, j) => ({ customerId: customerOf(i, j), gatewayPort: portOf(slotOf(i, j)) }))), SWEEP_TIMEOUT_MS));
  const pssh = psshRunner(tmp, sub, proxies, knownHosts, perHost);
  const ansible = withAnsible ? ansibleRunner(tmp, sub, proxies, knownHosts, perHost) : null;
  const s = { oursCold: [], oursWarm: [], floorCold: [], floorWarm: [], floorTrue: [], pssh: [], ansibleFirst: [], ansible: [], cli: [] };
  const timed = async (key, fn) => {
    const t = performance.now();
    const r = await fn();
    s[key].push(performance.now() - t);
    return r;
  };
  const fleet = await createFleet({ databaseUrl: url, actor: "bench" });
  const first = await timed("oursCold", () => fleet.health.check());
  if (!first.ok || first.summary.healthy !== n * perHost) throw new Error(`the first sweep is not all healthy: ${JSON.stringify(first.summary)}`);
  const floor = await connectFloor(sub, proxies);
  for (let r = 0; r < runs; r++) {
    log(`${n} hosts × ${perHost}: run ${r + 1}/${runs}`);
    await timed("floorWarm", () => execFloor(floor, commands)).then(checkFloor);
    await timed("floorTrue", () => execFloor(floor, sub.map(() => "true")));
    const warm = await timed("oursWarm", () => fleet.health.check());
    if (!warm.ok) throw new Error(`a warm sweep is not all healthy: ${JSON.stringify(warm.summary)}`);
    await timed("floorCold", async () => {
      const fresh = await connectFloor(sub, proxies);
      checkFloor(await execFloor(fresh, commands));
      closeFloor(fresh);
    });
    if (r > 0) await timed("oursCold", async () => {
      const fresh = await createFleet({ databaseUrl: url, actor: "bench" });
      const rep = await fresh.health.check();
      await fresh.close();
      if (!rep.ok) throw new Error("a cold sweep is not all healthy");
    });
    await timed("cli", () => cli(url));
    s.pssh.push(await pssh());
    if (ansible) s[r === 0 ? "ansibleFirst" : "ansible"].push(await ansible());
  }
  closeFloor(floor);
  await fleet.close();
  const med = Object.fromEntries(Object.entries(s).filter(([, v]) => v.length).map(([k, v]) => [k, round(median(v), 0)]));
  log(JSON.stringify({ n, perHost, med }));
  return { hosts: n, perHost, instances: n * perHost, samples: s, median: med };
}

function checkFloor(outs) {
  if (!outs.every((o) => o.includes("END|") && o.includes("|200|"))) throw new Error("the floor's check did not complete on every host");
}

/** `clawfleet health check` as a process: start-up, DB open, connects, one sweep. */
function cli(url) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(repoRoot, "bin/clawfleet.js"), "health", "check", "--json"], { env: { ...process.env, CLAWFLEET_DATABASE_URL: url }, stdio: ["ignore", "ignore", "ignore"] });
    p.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`health check exited ${code}`))));
  });
}

/** The real daemon process with 1,000 instance rows: 3 real containers per host plus rows with none. */
async function daemonRss(sub, ghostsPerHost, nodeOptions) {
  const url = `file:${path.join(tmp, `rss-${nodeOptions ? "unit" : "defaults"}.db`)}`;
  await seedDb(openStore, url, sub, proxies, PER_HOST, ghostsPerHost);
  const instances = sub.length * (PER_HOST + ghostsPerHost);
  log(`daemon RSS: ${instances} instances on ${sub.length} hosts for ${RSS_SECONDS} s, NODE_OPTIONS=${nodeOptions}`);
  // A huge threshold: the rows without a container fail every sweep but are never restarted.
  const args = ["health", "daemon", "--every", "*/5 * * * * *", "--failure-threshold", "1000000", "--json"];
  const child = spawn(process.execPath, [path.join(repoRoot, "bin/clawfleet.js"), ...args], { env: { ...process.env, CLAWFLEET_DATABASE_URL: url, NODE_OPTIONS: nodeOptions }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.resume();
  const rss = [];
  const status = () => readFileSync(`/proc/${child.pid}/status`, "utf8");
  const kb = (text, key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
  const end = Date.now() + RSS_SECONDS * 1000;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 500));
    rss.push(kb(status(), "VmRSS"));
  }
  const peakKb = kb(status(), "VmHWM");
  child.kill("SIGTERM");
  const code = await new Promise((r) => child.on("close", r));
  const sweeps = out.split("\n").filter((l) => l.startsWith('{"type":"sweep"')).map((l) => JSON.parse(l));
  return {
    nodeOptions, instances, hosts: sub.length, seconds: RSS_SECONDS, sweeps: sweeps.length, exitCode: code,
    sweepMs: round(median(sweeps.map((x) => x.durationMs)), 0), healthyPerSweep: Math.max(0, ...sweeps.map((x) => x.summary.healthy)),
    rssMb: { peak: round(peakKb / 1024), median: round(median(rss) / 1024), last: round((rss.at(-1) ?? 0) / 1024) },
  };
}
