// Scale-out benchmark (issue 13): the wall time of one sweep period over 100 sandbox hosts (behind
// 50 ms RTT delay proxies, 2 real gateway containers each) on one PostgreSQL database, with 1, 2 and
// 3 real `clawfleet health daemon` processes, measured side by side in one run.
// A period's wall time: from its cron tick until the last of the hosts is recorded swept for it
// (Host.sweptAt >= the tick), polled every 10 ms. Env: BENCH_RTT (50), SCALE_BENCH_HOSTS (100),
// SCALE_BENCH_PERIODS (5), BENCH_KEEP=1 keeps the containers.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { median, pgDatabase, publish, repoRoot, round, table } from "./lib.mjs";
import { ensureContainers, removeContainers, restoreSandbox, seedDb, startHosts, startProxies } from "./health/setup.mjs";

const RTT = Number(process.env.BENCH_RTT ?? 50);
const N = Number(process.env.SCALE_BENCH_HOSTS ?? 100);
const PERIODS = Number(process.env.SCALE_BENCH_PERIODS ?? 5);
const PER_HOST = 2;
const PERIOD_MS = 10_000;
const log = (...a) => console.error("[scale bench]", ...a);
const { openStore } = await import(path.join(repoRoot, "dist/store/open.js"));

const CLK_TCK = 100;
/** CPU ms a process has used so far (utime + stime). */
const cpuMsOf = (pid) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
};
/** The machine's busy and total CPU ticks so far. */
const machine = () => {
  const [, ...t] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
  const total = t.reduce((a, b) => a + b, 0);
  return { busy: total - t[3] - t[4], total };
};

let results;
let measured = {};
if (process.env.SCALE_REPORT_ONLY) {
  // Rewrites the BENCHMARKS.md section from the stored results, without measuring again.
  const stored = JSON.parse(readFileSync(path.join(repoRoot, "bench-results/scale.json"), "utf8"));
  results = stored.results;
  measured = { at: new Date(stored.at), on: stored.machine };
} else {
  log(`starting ${N} sandbox hosts behind ${RTT} ms RTT delay proxies`);
  const hosts = startHosts(N);
  const proxies = await startProxies(hosts, RTT);
  results = { hosts: N, perHost: PER_HOST, rttMs: RTT, periodMs: PERIOD_MS, runs: [] };
  try {
    log(`ensuring ${N * PER_HOST} gateway containers (created ${ensureContainers(hosts.flatMap((_, i) => [[i, 0], [i, 1]]))})`);
    for (const daemons of [1, 2, 3]) results.runs.push(await periodsWith(daemons));
  } finally {
    proxies.stop();
    if (!process.env.BENCH_KEEP) removeContainers();
    restoreSandbox(N);
  }
}
console.log(JSON.stringify(results, null, 2));
const one = results.runs[0].warmMedianMs;
publish("scale", results, [
  `## Scale-out: one sweep period over ${N} hosts with 1, 2 and 3 daemons`,
  "",
  `${N} sandbox hosts behind ${RTT} ms RTT delay proxies, ${PER_HOST} real gateway containers each, one PostgreSQL database; real \`clawfleet health daemon --every "*/10 * * * * *"\` processes sharing the hosts through host sweep leases. Wall time of a period: its cron tick until the last host is recorded swept for it (\`Host.sweptAt\`, polled every 10 ms). The first scheduled period (15 s or more after start-up) includes connecting to hosts a daemon did not sweep at start-up; the median is over the ${PERIODS - 1} periods after it.`,
  "",
  table(
    ["daemons", "first period", "warm periods (median)", "vs 1 daemon", "hosts per daemon (last period)", "daemons' CPU per period (sum)", "machine CPU busy", "every host swept each period"],
    results.runs.map((r) => [r.daemons, `${r.firstMs} ms`, `**${r.warmMedianMs} ms**`, `${round(r.warmMedianMs / one, 2)}×`, r.share.join(" / "), `${r.daemonCpuMs} ms`, `${Math.round(r.machineBusy * 100)}%`, r.complete ? "yes" : "**no**"]),
  ),
  "",
  `Reading it: ${results.runs.length} daemons finish a warm period in ${round(results.runs.at(-1).warmMedianMs / one, 2)}× the time of one, and the hosts split between them. Each daemon's CPU per period has a fixed part besides its share of the hosts (its lease claims and polls, reading plans.yaml, Prisma's query compilation; about ${round((results.runs.at(-1).daemonCpuMs - results.runs[0].daemonCpuMs) / (results.runs.length - 1), 0)} ms here), so the sum grows with the number of daemons. The wall time is bounded by this machine: its 2 cores also run every "host" (100 sshds, their shells and curls, the gateways) and the 100 delay proxies, and stay nearly saturated whatever the number of daemons. On a fleet the hosts' remote work runs on the hosts; what more daemons buy is a lower number of hosts per daemon and a survivor for each one that dies (docs/SCALING.md).`,
].join("\n"), measured);

/** `daemons` processes on a fresh database for PERIODS periods. */
async function periodsWith(daemons) {
  const { url, drop } = await pgDatabase(`cf_bench_scale_${process.pid}_${daemons}`);
  await seedDb(openStore, url, hosts, proxies, PER_HOST);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const procs = Array.from({ length: daemons }, () => {
    const p = spawn(process.execPath, [path.join(repoRoot, "bin/clawfleet.js"), "health", "daemon", "--every", "*/10 * * * * *", "--json"], { env: { ...process.env, CLAWFLEET_DATABASE_URL: url }, stdio: ["ignore", "pipe", "pipe"] });
    p.out = "";
    p.stdout.on("data", (d) => (p.out += d));
    p.stderr.on("data", (d) => (p.out += d));
    return p;
  });
  const periods = [];
  try {
    // The start-up sweeps (cold, and counted as swept for the next half period) are not a period: the first tick 15 s on is.
    let tick = Math.ceil((Date.now() + 15_000) / PERIOD_MS) * PERIOD_MS;
    for (let i = 0; i < PERIODS; i++, tick += PERIOD_MS) {
      await new Promise((r) => setTimeout(r, tick - Date.now()));
      const cpu0 = procs.map((p) => cpuMsOf(p.pid));
      const m0 = machine();
      let doneAt = null;
      while (Date.now() < tick + PERIOD_MS - 100) {
        const { rows } = await client.query(`SELECT count(*)::int AS n FROM "Host" WHERE "sweptAt" >= $1`, [new Date(tick)]);
        if (rows[0].n === N) {
          doneAt = Date.now();
          break;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      const daemonCpuMs = procs.map((p, k) => round(cpuMsOf(p.pid) - cpu0[k], 0));
      const m1 = machine();
      const machineBusy = round((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total), 2);
      const { rows: by } = await client.query(`SELECT "sweptBy", count(*)::int AS n FROM "Host" WHERE "sweptAt" >= $1 GROUP BY 1 ORDER BY 2 DESC`, [new Date(tick)]);
      periods.push({ tick: new Date(tick).toISOString(), ms: doneAt === null ? null : doneAt - tick, share: by.map((r) => r.n), daemonCpuMs, machineBusy });
      log(`${daemons} daemon(s), period ${i + 1}/${PERIODS}: ${doneAt === null ? "NOT all hosts swept" : `${doneAt - tick} ms`}, hosts per daemon ${by.map((r) => r.n).join("/")}, daemon CPU ${daemonCpuMs.join("/")} ms, machine ${Math.round(machineBusy * 100)}% busy`);
    }
  } finally {
    await client.end();
    await Promise.all(procs.map((p) => new Promise((r) => (p.on("close", r), p.kill("SIGTERM")))));
    await drop();
  }
  const bad = procs.filter((p) => p.exitCode !== 0);
  if (bad.length) throw new Error(`a daemon exited ${bad.map((p) => p.exitCode).join(", ")}: ${bad[0].out.slice(-2000)}`);
  const warm = periods.slice(1);
  const warmMs = warm.map((p) => p.ms).filter((x) => x !== null);
  return {
    daemons, periods, complete: periods.every((p) => p.ms !== null),
    firstMs: periods[0].ms, warmMedianMs: round(median(warmMs), 0),
    share: warm.at(-1).share,
    daemonCpuMs: round(median(warm.map((p) => p.daemonCpuMs.reduce((a, b) => a + b, 0))), 0),
    machineBusy: round(median(warm.map((p) => p.machineBusy)), 2),
  };
}
