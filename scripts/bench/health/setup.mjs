// Bench fixture for the health sweep: sandbox hosts behind our own delay proxies, real gateway
// containers, a database that places them on the hosts, and the per-host check scripts for the peers.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "../lib.mjs";

export const IMAGE = "clawfleet-test-gateway:1.0";
export const USER_SLOT0 = 40; // bench slots start here, clear of the test suites' low slots
const sandbox = (...args) => execFileSync("bash", [path.join(repoRoot, "scripts/sandbox"), ...args], { stdio: ["ignore", "ignore", "inherit"] });

/** Sandbox hosts 1..n (direct sshd addresses), started if needed. */
export function startHosts(n) {
  sandbox("start", String(n));
  return JSON.parse(readFileSync(path.join(repoRoot, ".sandbox/hosts.json"), "utf8")).slice(0, n);
}

/** Puts hosts 1..3 back as the test suites expect them (direct, no RTT) and stops the rest. */
export function restoreSandbox(n) {
  if (n > 3) sandbox("stop", ...Array.from({ length: n - 3 }, (_, i) => String(i + 4)));
  sandbox("start", "3", "--rtt", "0");
}

/** One delay proxy per host on 127.0.4.i, so the shared sandbox's own addresses stay direct for other users. */
export async function startProxies(hosts, rttMs) {
  const procs = await Promise.all(
    hosts.map((h, i) => {
      const listen = `127.0.4.${i + 1}:2222`;
      const p = spawn(process.execPath, [path.join(repoRoot, "scripts/delay-proxy.mjs"), "--listen", listen, "--target", `${h.directAddress}:${h.directPort}`, "--rtt", String(rttMs)], { stdio: ["ignore", "pipe", "inherit"] });
      return new Promise((resolve) => p.stdout.once("data", () => resolve(p)));
    }),
  );
  return { addressOf: (i) => `127.0.4.${i + 1}`, stop: () => procs.forEach((p) => p.kill()) };
}

export const customerOf = (i, j) => `bench-h${String(i + 1).padStart(3, "0")}-${j}`;
export const slotOf = (i, j) => USER_SLOT0 + i * 3 + j;
export const portOf = (slot) => 18800 + slot * 120;

/** Real gateway containers named and labelled as provision makes them; only the gateway port is published. */
export function ensureContainers(pairs) {
  const running = new Set(execFileSync("docker", ["ps", "--format", "{{.Names}}", "--filter", "label=io.clawfleet.bench=true"], { encoding: "utf8" }).split("\n").filter(Boolean));
  const todo = pairs.filter(([i, j]) => !running.has(`cf-${customerOf(i, j)}`));
  for (const [i, j] of todo) {
    const c = customerOf(i, j);
    execFileSync("bash", ["-c", `docker rm -f cf-${c} >/dev/null 2>&1; true`]);
    execFileSync("docker", [
      "run", "-d", "--name", `cf-${c}`, "--init", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true",
      "--no-healthcheck", "--restart", "unless-stopped", "-p", `127.0.0.1:${portOf(slotOf(i, j))}:18789`,
      "--label", "io.clawfleet.managed=true", "--label", `io.clawfleet.customer=${c}`, "--label", "io.clawfleet.plan=free", "--label", "io.clawfleet.bench=true", IMAGE,
    ], { stdio: ["ignore", "ignore", "inherit"] });
  }
  return todo.length;
}

export function removeContainers() {
  execFileSync("bash", ["-c", "ids=$(docker ps -aq --filter label=io.clawfleet.bench=true); [ -z \"$ids\" ] || docker rm -f $ids >/dev/null"]);
}

/** A database with hosts 1..n behind the proxies and `perHost` instances each (plus `ghosts` rows without containers). */
export async function seedDb(openStore, url, hosts, proxies, perHost, ghostsPerHost = 0) {
  const store = await openStore(url);
  const now = new Date();
  for (const [i, h] of hosts.entries()) {
    const host = await store.hosts.create({ name: h.name, address: proxies.addressOf(i), port: 2222, user: h.user, identityFile: h.identityFile, hostKey: h.fingerprint, remoteRoot: h.remoteRoot, shared: true, capacityMb: null, dockerOk: true });
    const ids = [...Array.from({ length: perHost }, (_, j) => [customerOf(i, j), slotOf(i, j)]), ...Array.from({ length: ghostsPerHost }, (_, k) => [`bench-ghost-${i + 1}-${k}`, 200 + k])];
    for (const [customerId, slot] of ids) {
      await store.instances.claim({ customerId, hostId: host.id, plan: "free", image: IMAGE, dedicated: false, leaseOwner: "bench", leaseMs: 1, now });
      await store.instances.update(customerId, { status: "healthy", portSlot: slot, leaseOwner: null, leaseUntil: null });
    }
  }
  await store.close();
}

/** The exact per-host check our sweep sends, stored on each host for pssh and Ansible to run. */
export function writeHostScripts(sweepScript, hosts, perHost) {
  for (const [i, h] of hosts.entries()) {
    const targets = Array.from({ length: perHost }, (_, j) => ({ customerId: customerOf(i, j), gatewayPort: portOf(slotOf(i, j)) }));
    writeFileSync(path.join(h.remoteRoot, `.bench-sweep-${perHost}.sh`), sweepScript(targets), { mode: 0o644 });
  }
}

export function removeHostScripts(hosts) {
  for (const h of hosts) for (const n of [2, 3]) rmSync(path.join(h.remoteRoot, `.bench-sweep-${n}.sh`), { force: true });
}
