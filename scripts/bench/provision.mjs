// Provision on a warm sandbox host, split into connect / prepare (staging the files) / remote run, at 0 and 50 ms RTT.
// The client's round trips = (client time at 50 ms − client time at 0 ms) / 50 ms, where client time
// excludes the remote script's own work (its durationMs in the CLAWFLEET_RESULT line).
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { median, publish, removeInstance, repoRoot, round, startSandbox, table } from "./lib.mjs";

const RTT = Number(process.env.BENCH_RTT ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const tmp = mkdtempSync(path.join(os.tmpdir(), "cf-bench-prov-"));
const [h] = startSandbox(1);
const { createFleet } = await import(path.join(repoRoot, "dist/index.js"));

// Our own delay proxy, so the shared sandbox's addresses stay as they are for other users.
const listen = "127.0.3.1:2222";
const proxy = spawn(process.execPath, [path.join(repoRoot, "scripts/delay-proxy.mjs"), "--listen", listen, "--target", `${h.directAddress ?? h.address}:${h.directPort ?? h.port}`, "--rtt", String(RTT)], { stdio: ["ignore", "pipe", "inherit"] });
await new Promise((resolve) => proxy.stdout.once("data", resolve));

const fleet = await createFleet({ databaseUrl: `file:${path.join(tmp, "bench.db")}`, actor: "bench" });
const targets = { 0: `${h.directAddress ?? h.address}:${h.directPort ?? h.port}`, [RTT]: listen };
for (const [rtt, addr] of Object.entries(targets)) {
  await fleet.hosts.add({ name: `rtt${rtt}`, ssh: `${h.user}@${addr}`, identityFile: h.identityFile, hostKey: h.fingerprint, remoteRoot: h.remoteRoot, shared: true });
}

const cleanup = (customer) => removeInstance(customer, [h.remoteRoot]);

const runs = { 0: [], [RTT]: [] };
for (let i = 0; i < RUNS; i++) {
  for (const rtt of [0, RTT]) {
    const customer = `bench-r${rtt}-${i}`;
    cleanup(customer);
    // A fresh process would pay the connect too: drop the pooled connection each time.
    const fresh = await createFleet({ databaseUrl: `file:${path.join(tmp, "bench.db")}`, actor: "bench" });
    const r = await fresh.provision({ customerId: customer, plan: "free", host: `rtt${rtt}`, image: "clawfleet-test-gateway:1.0" });
    await fresh.close();
    const t = r.timings;
    const client = r.durationMs - (t.remoteScript ?? 0);
    runs[rtt].push({ total: r.durationMs, client, ...t });
    console.error(`rtt ${rtt}: total ${r.durationMs} ms, client ${client} ms`, JSON.stringify(t));
    cleanup(customer);
  }
}
await fleet.close();
proxy.kill();

const med = (rtt, k) => median(runs[rtt].map((x) => x[k] ?? 0));
const rtts = round((med(RTT, "client") - med(0, "client")) / RTT, 1);
const perStep = ["connect", "prepare", "upload"].map((k) => [k, round((med(RTT, k) - med(0, k)) / RTT, 1)]);
const startRtts = round((med(RTT, "start") - med(RTT, "remoteScript") - (med(0, "start") - med(0, "remoteScript"))) / RTT, 1);
const results = { rttMs: RTT, runs, clientRoundTrips: rtts, perStep: Object.fromEntries(perStep), startRoundTrips: startRtts };
console.log(JSON.stringify({ clientRoundTrips: rtts, perStep, startRtts }, null, 2));
const ms = (x) => `${Math.round(x)} ms`;
publish(
  "provision",
  results,
  `## Provision on a warm host

One \`free\` provision of the test image on a sandbox host, through the library, median of ${RUNS} runs at each RTT (a fresh process's connection each time). "Client" is the wall time minus the remote provision.sh's own run time, so Docker's work is excluded.

${table(
  ["step", "0 ms RTT", `${RTT} ms RTT`, "round trips"],
  [
    ["SSH connect (pinned key, auth)", ms(med(0, "connect")), ms(med(RTT, "connect")), String(perStep[0][1])],
    ["prepare (mkdir, 3 files written atomically from stdin, port check: one exec)", ms(med(0, "prepare")), ms(med(RTT, "prepare")), String(perStep[1][1])],
    ["upload (SFTP; only when the port check moved the slot)", ms(med(0, "upload")), ms(med(RTT, "upload")), String(perStep[2][1])],
    ["remote run, beyond the script's own time", ms(med(0, "start") - med(0, "remoteScript")), ms(med(RTT, "start") - med(RTT, "remoteScript")), String(startRtts)],
    ["remote provision.sh (Docker: up + health wait)", ms(med(0, "remoteScript")), ms(med(RTT, "remoteScript")), ""],
    ["**total wall time**", ms(med(0, "total")), ms(med(RTT, "total")), ""],
    ["**client overhead beyond Docker's time**", ms(med(0, "client")), ms(med(RTT, "client")), "**" + rtts + " RTT** (target ≤ 15)"],
  ],
)}`,
);
