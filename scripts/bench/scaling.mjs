// Scaling measurements behind docs/SCALING.md (issue 13): the cost of one warm pooled SSH connection
// (RSS, heap, fds) and the CPU of a warm sweep per host in the daemon's process, and the DB rows and
// commits one sweep writes per 1,000 instances on PostgreSQL, healthy and failing.
// Env: SCALE_CONNS ("50,100,200"), SCALE_FAILING_ROWS (1000).
import { readFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import v8 from "node:v8";
import vm from "node:vm";
import pg from "pg";
import { pgDatabase, publish, repoRoot, round, table } from "./lib.mjs";
import { ensureContainers, removeContainers, seedDb } from "./health/setup.mjs";

const CONNS = (process.env.SCALE_CONNS ?? "50,100,200").split(",").map(Number);
const SSHDS = 40; // each host row is its own pooled connection; rows take the sshds in turn
const HEALTHY_HOSTS = 40;
const FAILING_HOSTS = 10;
const FAILING_ROWS = Number(process.env.SCALE_FAILING_ROWS ?? 1000);
const log = (...a) => console.error("[scaling bench]", ...a);
const dist = (p) => import(path.join(repoRoot, "dist", p));
const [{ createFleet }, { openStore }] = await Promise.all([dist("index.js"), dist("store/open.js")]);
const maxHosts = Math.max(SSHDS, HEALTHY_HOSTS);
/** Per-table row counters and the database's commits, as PostgreSQL's statistics hold them. */
const stats = async (url) => {
  await new Promise((r) => setTimeout(r, 1500)); // exited backends' counters land within a second
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const t = await c.query(`SELECT relname, n_tup_ins::int ins, n_tup_upd::int upd, n_tup_del::int del FROM pg_stat_user_tables`);
  const x = await c.query(`SELECT xact_commit::int commits FROM pg_stat_database WHERE datname = current_database()`);
  await c.end();
  return { tables: Object.fromEntries(t.rows.map((r) => [r.relname, r])), commits: x.rows[0].commits };
};
execFileSync("bash", [path.join(repoRoot, "scripts/sandbox"), "start", String(maxHosts)], { stdio: ["ignore", "ignore", "inherit"] });
const sandbox = JSON.parse(readFileSync(path.join(repoRoot, ".sandbox/hosts.json"), "utf8")).slice(0, maxHosts);
const hostRow = (h, name = h.name) => ({ name, address: h.directAddress ?? h.address, port: h.directPort ?? h.port, user: h.user, identityFile: h.identityFile, hostKey: h.fingerprint, remoteRoot: h.remoteRoot, shared: true, capacityMb: null, dockerOk: true });
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc");
const fds = () => readdirSync("/proc/self/fd").length;
const mem = () => {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external + m.arrayBuffers };
};
const fit = (xs, ys) => {
  const n = xs.length, mx = xs.reduce((a, b) => a + b) / n, my = ys.reduce((a, b) => a + b) / n;
  const slope = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) / xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  return { slope, intercept: my - slope * mx };
};
const results = {};
const tmp = mkdtempSync(path.join(os.tmpdir(), "cf-bench-scaling-"));
try {
  // A. Warm connections: each health check connects to every registered host and keeps it pooled.
  const url = "file:" + path.join(tmp, "conn.db");
  const fleet = await createFleet({ databaseUrl: url, actor: "bench" });
  const store = await openStore(url);
  await fleet.health.check();
  const points = [{ n: 0, ...mem(), fds: fds(), sweepCpuMs: 0, sweepMs: 0 }];
  let added = 0;
  for (const n of CONNS) {
    for (; added < n; added++) await store.hosts.create(hostRow(sandbox[added % SSHDS], `conn-${added}`));
    for (let r = 0; r < 2; r++) await fleet.health.check();
    const cpu = process.cpuUsage();
    const t = performance.now();
    await fleet.health.check();
    const used = process.cpuUsage(cpu);
    points.push({ n, ...mem(), fds: fds(), sweepCpuMs: round((used.user + used.system) / 1000), sweepMs: round(performance.now() - t) });
    log(`${n} warm connections: rss ${round(points.at(-1).rss / 2 ** 20)} MiB, fds ${points.at(-1).fds}`);
  }
  const sshdKb = Number(execFileSync("bash", ["-c", "ps -o rss= -C sshd | awk '{s+=$1} END {print s}'"], { encoding: "utf8" }).trim());
  const sshdProcs = Number(execFileSync("bash", ["-c", "pgrep -c -x sshd || true"], { encoding: "utf8" }).trim());
  await fleet.close();
  await store.close();
  const xs = points.map((p) => p.n);
  results.connections = {
    points,
    cpuMsPerHostSweep: round(fit(xs.slice(1), points.slice(1).map((p) => p.sweepCpuMs)).slope, 2),
    // Fitted over the warm points only: the first sweep's own warm-up (code, caches, pools) is not per connection.
    perConnection: Object.fromEntries(["rss", "heap", "external", "fds"].map((k) => [k === "fds" ? "fds" : `${k}KiB`, round(fit(xs.slice(1), points.slice(1).map((p) => p[k])).slope / (k === "fds" ? 1 : 1024), 2)])),
    sshd: { processes: sshdProcs, rssKiB: sshdKb, hostsUp: maxHosts },
  };
  // B. DB writes of one sweep on PostgreSQL, measured by PostgreSQL: a healthy fleet (real containers)
  // and one where every row fails (rows without a container, the threshold out of reach).
  const direct = { addressOf: (i) => sandbox[i].directAddress ?? sandbox[i].address };
  results.db = [];
  ensureContainers(sandbox.slice(0, HEALTHY_HOSTS).flatMap((_, i) => [0, 1, 2].map((j) => [i, j])));
  for (const [kind, hostCount, perHost, ghosts] of [["healthy", HEALTHY_HOSTS, 3, 0], ["failing", FAILING_HOSTS, 0, FAILING_ROWS / FAILING_HOSTS]]) {
    const { url: dbUrl, drop } = await pgDatabase(`cf_scaling_${process.pid}_${kind}`);
    await seedDb(openStore, dbUrl, sandbox.slice(0, hostCount), direct, perHost, ghosts);
    const instances = hostCount * (perHost + ghosts);
    const sweeps = [];
    for (let r = 0; r < 3; r++) {
      const before = await stats(dbUrl);
      // A fresh fleet per sweep, closed after it: a backend reports its counters when it exits.
      const f = await createFleet({ databaseUrl: dbUrl, actor: "bench" });
      const t = performance.now();
      const rep = await f.health.check({ policy: { failureThreshold: 1_000_000 } });
      const ms = performance.now() - t;
      await f.close();
      if (kind === "healthy" && rep.summary.healthy !== instances) throw new Error(`healthy sweep: ${JSON.stringify(rep.summary)}`);
      const after = await stats(dbUrl);
      const d = (table, k) => (after.tables[table]?.[k] ?? 0) - (before.tables[table]?.[k] ?? 0);
      sweeps.push({ ms: round(ms), healthCheckInserts: d("HealthCheck", "ins"), instanceUpdates: d("Instance", "upd"), hostUpdates: d("Host", "upd"), eventInserts: d("Event", "ins"), commits: after.commits - before.commits - 1 });
    }
    // The sweeping process's CPU on warm connections, for the per-instance part.
    const warm = await createFleet({ databaseUrl: dbUrl, actor: "bench" });
    for (let r = 0; r < 2; r++) await warm.health.check({ policy: { failureThreshold: 1_000_000 } });
    const cpu = process.cpuUsage();
    await warm.health.check({ policy: { failureThreshold: 1_000_000 } });
    const used = process.cpuUsage(cpu);
    await warm.close();
    const warmCpuMs = round((used.user + used.system) / 1000);
    const cpuMsPerInstance = round((warmCpuMs - hostCount * results.connections.cpuMsPerHostSweep) / instances, 3);
    await drop();
    const steady = sweeps.at(-1);
    results.db.push({ kind, hosts: hostCount, instances, sweeps, warmCpuMs, cpuMsPerInstance, per1000: Object.fromEntries(Object.entries(steady).filter(([k]) => k !== "ms").map(([k, v]) => [k, round((v * 1000) / instances, 0)])) });
    log(`${kind}, ${instances} instances: ${JSON.stringify(sweeps)}`);
  }
  // C. The size of history on PostgreSQL: 100,000 healthy HealthCheck rows, with their indexes.
  {
    const { url: dbUrl, drop } = await pgDatabase(`cf_scaling_${process.pid}_size`);
    const s = await openStore(dbUrl);
    const host = await s.hosts.create(hostRow(sandbox[0]));
    await s.instances.claim({ customerId: "size", hostId: host.id, plan: "free", image: "clawfleet-test-gateway:1.0", dedicated: false, leaseOwner: "bench", leaseMs: 1, now: new Date() });
    const { id } = await s.instances.get("size");
    const rows = Array.from({ length: 2000 }, (_, i) => ({ instanceId: id, ok: true, status: "healthy", latencyMs: 3, detail: null, at: new Date(Date.now() - i * 1000) }));
    for (let k = 0; k < 50; k++) await s.healthChecks.record(rows);
    await s.close();
    const c = new pg.Client({ connectionString: dbUrl });
    await c.connect();
    await c.query(`VACUUM ANALYZE "HealthCheck"`);
    const r = (await c.query(`SELECT count(*)::int n, pg_relation_size('"HealthCheck"')::bigint heap, pg_indexes_size('"HealthCheck"')::bigint idx FROM "HealthCheck"`)).rows[0];
    await c.end();
    await drop();
    results.historyRow = { rows: r.n, heapBytesPerRow: Math.round(Number(r.heap) / r.n), indexBytesPerRow: Math.round(Number(r.idx) / r.n) };
    log(`history: ${JSON.stringify(results.historyRow)}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
  if (!process.env.BENCH_KEEP) removeContainers();
  if (maxHosts > 3) execFileSync("bash", [path.join(repoRoot, "scripts/sandbox"), "stop", ...Array.from({ length: maxHosts - 3 }, (_, i) => String(i + 4))], { stdio: "inherit" });
}
console.log(JSON.stringify(results, null, 2));
const c = results.connections.perConnection;
publish("scaling", results, [
  "## Scaling inputs (docs/SCALING.md)",
  "",
  `Warm pooled SSH connections in one process (health checks over ${CONNS.join("/")} host rows, each its own pooled connection, spread over ${SSHDS} sandbox sshds; measured after GC; least-squares slope): **${c.rssKiB} KiB RSS**, ${c.heapKiB} KiB heap, ${c.externalKiB} KiB external and **${c.fds} fds per connection**.`,
  "",
  table(["warm connections", "RSS MiB", "heap MiB", "fds", "warm sweep: CPU ms", "wall ms"], results.connections.points.map((p) => [p.n, round(p.rss / 2 ** 20), round(p.heap / 2 ** 20), p.fds, p.sweepCpuMs, p.sweepMs])),
  "",
  `The sweeping process's own CPU per host per warm sweep (least-squares slope; these hosts carry no instance rows, so it is the per-host part: lease claim, one batched check over the pooled connection, bookkeeping): **${results.connections.cpuMsPerHostSweep} ms**. The sandbox sshds: ${results.connections.sshd.processes} processes, ${round(results.connections.sshd.rssKiB / 1024)} MiB RSS in all for ${results.connections.sshd.hostsUp} hosts.`,
  "",
  "DB writes of one sweep on PostgreSQL, counted by PostgreSQL itself (pg_stat_user_tables, pg_stat_database; the fleet is closed after each sweep so its backends report): a healthy fleet of real containers, and one where every row fails (rows without a container, the failure threshold out of reach).",
  "",
  table(["fleet", "instances", "sweep", "HealthCheck inserts", "Instance updates", "Host updates", "Event inserts", "commits", "wall ms"], results.db.flatMap((d) => d.sweeps.map((s, i) => [d.kind, d.instances, i + 1, s.healthCheckInserts, s.instanceUpdates, s.hostUpdates, s.eventInserts, s.commits, s.ms]))),
  "",
  `One healthy HealthCheck row on PostgreSQL takes ${results.historyRow.heapBytesPerRow} bytes of table and ${results.historyRow.indexBytesPerRow} bytes of its two indexes (${results.historyRow.rows} rows, after VACUUM).`,
  "",
  table(["fleet", "per 1,000 instances per sweep (steady, sweep 3)", "", "CPU"], results.db.map((d) => [d.kind, `${d.per1000.healthCheckInserts} HealthCheck inserts, ${d.per1000.instanceUpdates} Instance updates, ${d.per1000.hostUpdates} Host updates, ${d.per1000.eventInserts} Event inserts`, `${d.per1000.commits} commits`, `warm sweep CPU ${d.warmCpuMs} ms: ${d.cpuMsPerInstance} ms per instance beyond the per-host part`])),
].join("\n"));
