// Bounded remote runs, measured on the hosts. (1) 30 `free` provisions issued at once through one
// library fleet over 5 sandbox hosts, with the default bound (3 per host) and, side by side in the
// same run, with the bound lifted (30 per host): wall time, failures, and the most provision.sh
// runs seen at once per host (sampled every 50 ms from the process table; the hosts run here).
// (2) 8 concurrent CLI processes provisioning on one shared host: all succeed, at most 3 at once.
// All hosts share this machine's one Docker Engine and 2 cores: a harsh case for the engine.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { publish, removeInstance, repoRoot, round, startSandbox, table } from "./lib.mjs";

const HOSTS = 5;
const COUNT = 30;
const CLI_COUNT = 8;
const IMAGE = "clawfleet-test-gateway:1.0";
const tmp = mkdtempSync(path.join(os.tmpdir(), "cf-bench-bounded-"));
const hosts = startSandbox(HOSTS);
const { createFleet } = await import(path.join(repoRoot, "dist/index.js"));
const roots = hosts.map((h) => h.remoteRoot);
const shipped = readFileSync(path.join(repoRoot, "templates/plans.yaml"), "utf8");
// The sandbox hosts share one loopback: each host gets its own port range, as separate machines would.
const plansFor = hosts.map((_, i) => {
  const file = path.join(tmp, `plans-${i}.yaml`);
  writeFileSync(file, shipped.replace(/basePort: \d+/, `basePort: ${21000 + i * 4000}`));
  return file;
});

/** Peak provision.sh runs at once per host root, from the process table. */
function watch(prefix) {
  const peak = new Map(roots.map((r) => [r, 0]));
  let stop = false;
  const re = new RegExp(`(/[^\\s'"]*/instances/${prefix}[^/]*)/(?:\\.staged/)?provision\\.sh`);
  const loop = (async () => {
    while (!stop) {
      let out = "";
      try {
        out = execFileSync("pgrep", ["-af", `instances/${prefix}.*/provision.sh`], { encoding: "utf8" });
      } catch {}
      const dirs = new Set(out.split("\n").map((l) => re.exec(l)?.[1]).filter(Boolean));
      for (const r of roots) peak.set(r, Math.max(peak.get(r), [...dirs].filter((d) => d.startsWith(r + "/")).length));
      await new Promise((res) => setTimeout(res, 50));
    }
  })();
  return async () => ((stop = true), await loop, Math.max(...peak.values()));
}

async function libraryRound(label, perHostConcurrency) {
  const customers = Array.from({ length: COUNT }, (_, i) => `bnd-${label}-${i}`);
  customers.forEach((c) => removeInstance(c, roots));
  const queued = { n: 0 };
  const fleet = await createFleet({ databaseUrl: `file:${path.join(tmp, `${label}.db`)}`, actor: "bench", perHostConcurrency, concurrency: 30, onEvent: (e) => e.type === "queued" && queued.n++ });
  for (const [i, h] of hosts.entries()) {
    await fleet.hosts.add({ name: `b${i}`, ssh: `${h.user}@${h.address}:${h.port}`, identityFile: h.identityFile, hostKey: h.fingerprint, remoteRoot: h.remoteRoot, shared: true });
  }
  const stopWatch = watch(`bnd-${label}-`);
  const t = performance.now();
  const outcomes = await Promise.allSettled(customers.map((customerId, i) => fleet.provision({ customerId, plan: "free", host: `b${i % HOSTS}`, image: IMAGE, plansFile: plansFor[i % HOSTS] })));
  const wallMs = performance.now() - t;
  const peak = await stopWatch();
  const failed = outcomes.filter((o) => o.status === "rejected").map((o) => String(o.reason?.message ?? o.reason).slice(0, 200));
  for (const c of customers) await fleet.destroy({ customerId: c, force: true }).catch(() => undefined);
  await fleet.close();
  customers.forEach((c) => removeInstance(c, roots));
  return { label, perHostConcurrency, wallMs, ok: COUNT - failed.length, failed, peakPerHost: peak, queuedEvents: queued.n };
}

const spawnSyncQuiet = (cmd, args, env) => spawnSync(cmd, args, { env, stdio: "ignore" });

async function cliRound() {
  const db = `file:${path.join(tmp, "cli.db")}`;
  const env = { ...process.env, CLAWFLEET_DATABASE_URL: db, NO_COLOR: "1" };
  const bin = path.join(repoRoot, "bin/clawfleet.js");
  const h = hosts[0];
  execFileSync(process.execPath, [bin, "hosts", "add", "shared1", "--ssh", `${h.user}@${h.address}:${h.port}`, "--identity", h.identityFile, "--host-key", h.fingerprint, "--remote-root", h.remoteRoot, "--shared"], { env, stdio: "ignore" });
  const customers = Array.from({ length: CLI_COUNT }, (_, i) => `bndcli-${i}`);
  customers.forEach((c) => removeInstance(c, roots));
  const stopWatch = watch("bndcli-");
  const t = performance.now();
  const runs = await Promise.all(
    customers.map(
      (c) =>
        new Promise((resolve) => {
          const child = spawn(process.execPath, [bin, "provision", "--customer-id", c, "--plan", "free", "--host", "shared1", "--image", IMAGE, "--plans", plansFor[0]], { env, stdio: ["ignore", "ignore", "pipe"] });
          let err = "";
          child.stderr.on("data", (d) => (err += d));
          child.on("close", (code) => resolve({ code, waited: /waiting for a run slot/.test(err), err: err.slice(-400) }));
        }),
    ),
  );
  const wallMs = performance.now() - t;
  const peak = await stopWatch();
  for (const c of customers) {
    spawnSyncQuiet(process.execPath, [bin, "destroy", c, "--force"], env);
    removeInstance(c, roots);
  }
  return { count: CLI_COUNT, wallMs, ok: runs.filter((r) => r.code === 0).length, waited: runs.filter((r) => r.waited).length, peakOnHost: peak, failures: runs.filter((r) => r.code !== 0).map((r) => r.err) };
}

const bounded = await libraryRound("b3", 3);
const unbounded = await libraryRound("b30", 30);
const cli = await cliRound();
const results = { hosts: HOSTS, count: COUNT, bounded, unbounded, cli };
console.log(JSON.stringify({ bounded: { ...bounded, failed: bounded.failed.length }, unbounded: { ...unbounded, failed: unbounded.failed.length }, cli: { ...cli, failures: cli.failures.length } }, null, 2));
const s = (ms) => `${round(ms / 1000, 1)} s`;
publish(
  "bounded",
  results,
  `## Bounded remote runs: 30 provisions over 5 hosts, 8 CLI processes on one

${COUNT} \`free\` provisions issued at once through one library fleet, ${COUNT / HOSTS} per sandbox host, once with the default bound (3 remote runs per host) and once with it lifted (30), in the same run. "Peak per host" is the most \`provision.sh\` runs seen at once on one host, sampled every 50 ms from the process table. The hosts share this machine's one Docker Engine and 2 cores.

${table(
  ["per-host bound", "healthy", "peak per host", "queued events", "wall time", "ratio"],
  [
    [String(bounded.perHostConcurrency), `${bounded.ok}/${COUNT}`, String(bounded.peakPerHost), String(bounded.queuedEvents), s(bounded.wallMs), "1.00×"],
    [String(unbounded.perHostConcurrency), `${unbounded.ok}/${COUNT}`, String(unbounded.peakPerHost), String(unbounded.queuedEvents), s(unbounded.wallMs), `${round(unbounded.wallMs / bounded.wallMs, 2)}×`],
  ],
)}

${CLI_COUNT} separate \`clawfleet provision\` processes on one shared host, started together: ${cli.ok}/${CLI_COUNT} healthy in ${s(cli.wallMs)}, at most ${cli.peakOnHost} \`provision.sh\` at once on the host; ${cli.waited} of them printed that they waited for a run slot held by another process (the bound lives in the database).`,
);
