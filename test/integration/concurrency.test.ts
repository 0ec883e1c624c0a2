/**
 * Bounded remote runs, observed on the hosts: 30 concurrent library provisions over the sandbox
 * hosts and 8 concurrent CLI processes on one shared host never run more provision.sh at once than
 * the bounds allow, and all succeed. Idempotency keys across a real crash.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createFleet, type Fleet, type FleetEvent } from "../../src/index.js";
import { openStore } from "../../src/store/open.js";
import { runCli, tempDbUrl } from "./cli.js";
import { describeSandbox, sandboxHosts, type SandboxHost } from "./sandbox.js";

const IMAGE = "clawfleet-test-gateway:1.0";
const bin = path.resolve("bin/clawfleet.js");
const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8" }).trim();
const LIB = Array.from({ length: 30 }, (_, i) => `cc-lib-${i}`);
const CLI = Array.from({ length: 8 }, (_, i) => `cc-cli-${i}`);
const KEYED = ["cc-key-a", "cc-key-b"];
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

function cleanup() {
  const ids = docker("ps", "-aq", "--filter", "label=io.clawfleet.managed=true").split("\n").filter(Boolean);
  for (const id of ids) {
    const project = docker("inspect", "--format", '{{index .Config.Labels "com.docker.compose.project"}}', id);
    if (/^cf-cc-/.test(project)) docker("rm", "-f", id);
  }
  execFileSync("bash", ["-c", "docker volume ls -q | grep '^cf-cc-' | xargs -r docker volume rm -f >/dev/null; docker network ls --format '{{.Name}}' | grep '^cf-cc-' | xargs -r docker network rm >/dev/null; true"]);
  for (const h of sandboxHosts()) for (const c of [...LIB, ...CLI, ...KEYED]) rmSync(path.join(h.remoteRoot, "instances", c), { recursive: true, force: true });
}

/**
 * Samples the provision.sh processes running on this machine (the sandbox hosts live here) every
 * 50 ms, per host by remote root. Returns the highest count seen per host and overall.
 */
function watchScripts(hosts: SandboxHost[]) {
  const peak = new Map<string, number>(hosts.map((h) => [h.name, 0]));
  let overall = 0;
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      let out = "";
      try {
        out = execFileSync("pgrep", ["-af", "instances/cc-.*/provision.sh"], { encoding: "utf8" });
      } catch {
        out = ""; // pgrep exits 1 when nothing matches
      }
      // One bash per script run (its pipelines' subshells share the command line; count distinct dirs).
      const runs = new Set(out.split("\n").map((l) => /(\/[^\s'"]*\/instances\/cc-[^/]+)\/(?:\.staged\/)?provision\.sh/.exec(l)?.[1]).filter(Boolean) as string[]);
      let now = 0;
      for (const h of hosts) {
        const n = [...runs].filter((dir) => dir.startsWith(h.remoteRoot + "/")).length;
        peak.set(h.name, Math.max(peak.get(h.name)!, n));
        now += n;
      }
      overall = Math.max(overall, now);
      samples++;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { peak, overall, samples };
    },
  };
}

describeSandbox("bounded remote runs (real sshd + Docker + SQLite)", () => {
  const db = tempDbUrl("cf-conc-");
  const env = { ...process.env, CLAWFLEET_DATABASE_URL: db };
  const hosts = () => sandboxHosts().slice(0, 3);
  const plansDir = mkdtempSync(path.join(os.tmpdir(), "cf-conc-plans-"));
  // One plans file per host, each with its own port range: the sandbox hosts share one loopback.
  const plansFor = (i: number) => path.join(plansDir, `plans-${i}.yaml`);
  let fleet: Fleet;
  const events: FleetEvent[] = [];

  beforeAll(async () => {
    cleanup();
    const shipped = readFileSync(path.resolve("templates/plans.yaml"), "utf8");
    for (let i = 0; i < 3; i++) writeFileSync(plansFor(i), shipped.replace(/basePort: \d+/, `basePort: ${30000 + i * 4000}`));
    fleet = await createFleet({ databaseUrl: db, env, concurrency: 7, perHostConcurrency: 3, onEvent: (e) => events.push(e) });
    for (const h of hosts()) {
      await fleet.hosts.add({ name: h.name, ssh: `${h.user}@${h.address}:${h.port}`, identityFile: h.identityFile, hostKey: h.fingerprint, remoteRoot: h.remoteRoot, shared: true });
    }
  });
  afterAll(async () => {
    await fleet?.close();
    cleanup();
  });

  it("30 concurrent library provisions: never more than 3 per host or 7 overall on the hosts, in order, and all succeed", async () => {
    const watch = watchScripts(hosts());
    const results = await Promise.allSettled(
      LIB.map((customerId, i) => fleet.provision({ customerId, plan: "free", host: hosts()[i % 3]!.name, image: IMAGE, plansFile: plansFor(i % 3) })),
    );
    const seen = await watch.stop();
    const failed = results.flatMap((r, i) => (r.status === "rejected" ? [`${LIB[i]}: ${(r.reason as Error).message}\n${(r.reason as { stderrTail?: string }).stderrTail ?? ""}`] : []));
    expect(failed).toEqual([]);
    expect(seen.samples).toBeGreaterThan(20);
    for (const [host, n] of seen.peak) {
      expect(n, `provision.sh runs at once on ${host}`).toBeLessThanOrEqual(3);
      expect(n, `the bound on ${host} was reached (else this test proves nothing)`).toBeGreaterThanOrEqual(2);
    }
    expect(seen.overall).toBeLessThanOrEqual(7);
    const queued = events.filter((e): e is Extract<FleetEvent, { type: "queued" }> => e.type === "queued");
    expect(queued.length).toBeGreaterThan(10);
    expect(queued.some((e) => e.position >= 3)).toBe(true);
    const list = await fleet.list();
    expect(list.filter((x) => x.customerId.startsWith("cc-lib-") && x.status === "healthy")).toHaveLength(30);
    // The bound applies to destroys as well; all of them go.
    const destroyed = await Promise.allSettled(LIB.map((customerId) => fleet.destroy({ customerId, force: true })));
    expect(destroyed.filter((r) => r.status === "rejected")).toEqual([]);
    expect(docker("ps", "-aq", "--filter", "label=io.clawfleet.managed=true", "--filter", "name=cf-cc-lib")).toBe("");
  });

  it("8 concurrent CLI provisions (separate processes) on one shared host all succeed, at most 3 at once there", async () => {
    const h = hosts()[2]!;
    const watch = watchScripts([h]);
    const runs = await Promise.all(CLI.map((c) => runCli(["provision", "--customer-id", c, "--plan", "free", "--host", h.name, "--image", IMAGE, "--plans", plansFor(2), "--json"], env)));
    const seen = await watch.stop();
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(seen.peak.get(h.name)).toBeLessThanOrEqual(3);
    expect(seen.peak.get(h.name)).toBeGreaterThanOrEqual(2);
    // The processes that had to wait said so.
    expect(runs.some((r) => /waiting for a run slot on the host \(\d held by other processes\)/.test(r.stderr))).toBe(true);
    const containers = docker("ps", "-q", "--filter", "label=io.clawfleet.managed=true", "--filter", "name=cf-cc-cli").split("\n").filter(Boolean);
    expect(containers).toHaveLength(8);
  });

  it("an idempotency key replays the first outcome with a fresh, working token; another request under it is a conflict", async () => {
    const input = { customerId: "cc-key-a", plan: "free", host: hosts()[0]!.name, image: IMAGE, plansFile: plansFor(0), idempotencyKey: "sub_123:create" };
    const first = await fleet.provision(input);
    if ("dryRun" in first) throw new Error("unexpected dry run");
    expect(first.replayed).toBeUndefined();
    const again = await fleet.provision(input);
    if ("dryRun" in again) throw new Error("unexpected dry run");
    expect(again).toMatchObject({ customerId: "cc-key-a", instanceId: first.instanceId, host: first.host, ports: first.ports, replayed: true, tokenReissued: true });
    expect(again.gatewayToken).toMatch(/^[0-9a-f]{64}$/);
    expect(again.gatewayToken).not.toBe(first.gatewayToken);
    // The reissued token is the one in force: its hash is the row's, and the host's .env holds it.
    const store = await openStore(db);
    try {
      expect((await store.instances.get("cc-key-a"))!.tokenHash).toBe(sha(again.gatewayToken));
      expect((await store.instances.list()).filter((r) => r.customerId === "cc-key-a")).toHaveLength(1);
    } finally {
      await store.close();
    }
    expect(readFileSync(path.join(hosts()[0]!.remoteRoot, "instances", "cc-key-a", ".env"), "utf8")).toContain(again.gatewayToken);
    const other = await fleet.provision({ ...input, plan: "pro" }).catch((e) => e);
    expect(other.code).toBe("CONFLICT");
    expect(other.message).toMatch(/already used for a different request/);
    const destroyed = await fleet.destroy({ customerId: "cc-key-a", force: true, idempotencyKey: "sub_123:cancel" });
    const replayed = await fleet.destroy({ customerId: "cc-key-a", force: true, idempotencyKey: "sub_123:cancel" });
    expect(replayed).toEqual({ ...destroyed, replayed: true });
  });

  it("a keyed provision whose process is SIGKILLed mid-run is finished by the retry with the same key", async () => {
    const args = ["provision", "--customer-id", "cc-key-b", "--plan", "free", "--host", hosts()[1]!.name, "--image", IMAGE, "--plans", plansFor(1), "--idempotency-key", "sub_456:create", "--json"];
    await new Promise<void>((resolve) => {
      const child = spawn(process.execPath, [bin, ...args], { env: { ...env, NO_COLOR: "1" }, stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      child.stderr.on("data", (d) => {
        err += d;
        if (/✓ prepare/.test(err)) child.kill("SIGKILL");
      });
      child.on("close", () => resolve());
    });
    const retry = await runCli(args, env);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.json()).toMatchObject({ customerId: "cc-key-b", status: "healthy" });
    expect(retry.json().replayed).toBeUndefined(); // the first try never finished: this one did the work
    const third = await runCli(args, env);
    expect(third.code, third.stderr).toBe(0);
    expect(third.json()).toMatchObject({ customerId: "cc-key-b", replayed: true, tokenReissued: true });
    expect(docker("ps", "-aq", "--filter", "label=com.docker.compose.project=cf-cc-key-b").split("\n").filter(Boolean)).toHaveLength(1);
  });
});
