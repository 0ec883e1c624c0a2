import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openStore } from "../../src/store/open.js";
import { runCli, tempDbUrl } from "./cli.js";
import { describeSandbox, sandboxHosts, untilDockerHealthy } from "./sandbox.js";
import { webhookReceiver } from "./health-helpers.js";
import { bin, cleanupCustomers, containerEnv, docker, projectContainers, waitFor } from "./lifecycle-helpers.js";

const IMAGE = "clawfleet-test-gateway:1.0";
const NEXT = "clawfleet-test-gateway:1.1";
const BROKEN = "clawfleet-test-gateway:never-healthy";
const customers = ["lc-a", "lc-b", "lc-orphan"];
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

describeSandbox("lifecycle commands (real sshd + Docker)", () => {
  const db = tempDbUrl("cf-lc-");
  // A short health timeout keeps rollbacks quick; every command reads the same plans.
  const plansFile = path.join(mkdtempSync(path.join(os.tmpdir(), "cf-lc-plans-")), "plans.yaml");
  const env = { CLAWFLEET_DATABASE_URL: db, CLAWFLEET_PLANS: plansFile };
  const host = () => sandboxHosts()[0]!;
  const instanceDir = (c: string) => path.join(host().remoteRoot, "instances", c);
  const cli = async (args: string[], code = 0) => {
    const r = await runCli(args, env);
    expect(r.code, `${args.join(" ")}\n${r.stderr}`).toBe(code);
    return r;
  };
  const row = async (c: string) => {
    const store = await openStore(db);
    try {
      return await store.instances.get(c);
    } finally {
      await store.close();
    }
  };
  const events = async (c: string) => {
    const store = await openStore(db);
    try {
      return (await store.events.list({ target: c, limit: 500 })).reverse();
    } finally {
      await store.close();
    }
  };
  const envToken = (c: string) => /^OPENCLAW_GATEWAY_TOKEN=(.*)$/m.exec(readFileSync(path.join(instanceDir(c), ".env"), "utf8"))![1]!;
  let firstToken = "";
  let slotOfA: number | null = null;

  beforeAll(async () => {
    cleanupCustomers(customers);
    writeFileSync(plansFile, readFileSync(path.resolve("templates/plans.yaml"), "utf8").replace(/healthTimeout: \S+/, "healthTimeout: 8s"));
    for (const h of sandboxHosts().slice(0, 2)) {
      await cli(["hosts", "add", h.name, "--ssh", `${h.user}@${h.address}:${h.port}`, "--identity", h.identityFile, "--host-key", h.fingerprint, "--remote-root", h.remoteRoot, "--shared"]);
    }
    const r = await cli(["provision", "--customer-id", "lc-a", "--plan", "free", "--host", host().name, "--image", IMAGE, "--json"]);
    firstToken = r.json().gatewayToken;
  });
  afterAll(() => cleanupCustomers(customers));

  it("list, status and logs show the instance; logs never print the token", async () => {
    const list = (await cli(["list", "--json"])).json();
    expect(list.instances).toEqual([expect.objectContaining({ customerId: "lc-a", plan: "free", host: host().name, status: "healthy", image: IMAGE })]);
    await untilDockerHealthy("cf-lc-a");
    const s = (await cli(["status", "lc-a", "--json"])).json();
    // Three published ports: the plan does not set cdpPorts (provision.test proves the range with it on).
    expect(s).toMatchObject({ customerId: "lc-a", status: "healthy", live: { reachable: true, files: "present", container: { running: true, health: "healthy", image: IMAGE, loopbackOnly: true, boundPorts: 3 } }, config: { state: "in-sync", outdated: false } });
    expect(s.expiresAt).not.toBeNull();
    const logs = await cli(["logs", "lc-a", "--tail", "20", "--grep", "OPENCLAW|healthz"]);
    expect(logs.stdout).toContain("OPENCLAW_GATEWAY_TOKEN is set");
    expect(logs.stdout).not.toContain(firstToken);
    expect((await cli(["logs", "lc-a", "--since", "bogus"], 2)).stderr).toMatch(/--since/);
  });

  it("logs --follow streams and stops cleanly on Ctrl-C, leaving no remote docker logs behind", async () => {
    const child = spawn(process.execPath, [bin, "logs", "lc-a", "--follow", "--tail", "1"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    await waitFor(() => out.includes("\n"), 20_000);
    const exited = new Promise<number | null>((r) => child.on("close", r));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(err).toContain("stopped following lc-a");
    const id = projectContainers("lc-a")[0]!;
    await waitFor(() => !execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).includes(`--follow ${id.slice(0, 12)}`), 10_000);
  });

  it("a stopped instance survives health sweeps without being restarted", async () => {
    const stop = (await cli(["stop", "lc-a", "--json"])).json();
    expect(stop).toMatchObject({ status: "stopped", changed: true });
    const id = projectContainers("lc-a")[0]!;
    const before = docker("inspect", "--format", "{{.State.Running}} {{.State.StartedAt}}", id);
    expect(before).toMatch(/^false /);
    // A threshold of 1 would restart an instance it considered failing on the first sweep.
    for (const args of [["health", "check", "--failure-threshold", "1", "--json"], ["health", "check", "--customer-id", "lc-a", "--failure-threshold", "1", "--json"]]) {
      for (let i = 0; i < 2; i++) {
        const r = await runCli(args, env);
        expect(r.code, r.stderr).not.toBe(2);
      }
    }
    expect(docker("inspect", "--format", "{{.State.Running}} {{.State.StartedAt}}", id)).toBe(before);
    expect((await row("lc-a"))?.status).toBe("stopped");
    expect((await events("lc-a")).map((e) => e.action)).not.toContain("health.restart");
    const start = (await cli(["start", "lc-a", "--json"])).json();
    expect(start).toMatchObject({ status: "healthy", state: "healthy" });
  });

  it("rotate-token puts a new token in force; a failed rotation leaves the old one working", async () => {
    const r = (await cli(["rotate-token", "lc-a", "--json"])).json();
    const token = r.gatewayToken as string;
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(token).not.toBe(firstToken);
    expect(envToken("lc-a")).toBe(token);
    expect(containerEnv("lc-a")).toContain(`OPENCLAW_GATEWAY_TOKEN=${token}`);
    expect((await row("lc-a"))?.tokenHash).toBe(sha(token));

    // The marker lives on the data volume, so the container with the new token cannot get healthy.
    docker("exec", "cf-lc-a", "touch", "/home/node/.openclaw/cf-unhealthy");
    try {
      const failed = await cli(["rotate-token", "lc-a", "--json"], 1);
      expect(failed.json().error.message).toMatch(/the old token stays in force/);
      expect(envToken("lc-a")).toBe(token);
      expect(containerEnv("lc-a")).toContain(`OPENCLAW_GATEWAY_TOKEN=${token}`);
      expect((await row("lc-a"))?.tokenHash).toBe(sha(token));
      expect(failed.stdout + failed.stderr).not.toMatch(new RegExp(`[0-9a-f]{64}`));
    } finally {
      docker("exec", "cf-lc-a", "rm", "-f", "/home/node/.openclaw/cf-unhealthy");
    }
    await waitFor(() => docker("inspect", "--format", "{{.State.Health.Status}}", "cf-lc-a") === "healthy", 30_000);
    const actions = (await events("lc-a")).filter((e) => e.action === "instance.rotate-token").map((e) => e.outcome);
    expect(actions).toEqual(["ok", "failed"]);
  });

  it("upgrade to a never-healthy image rolls back to the previous version, which keeps running", async () => {
    const up = (await cli(["upgrade", "lc-a", "--image", NEXT, "--json"])).json();
    expect(up).toMatchObject({ action: "upgraded", image: NEXT, previousImage: IMAGE });
    const port = (await cli(["status", "lc-a", "--json"])).json().ports.gateway;
    expect(await (await fetch(`http://127.0.0.1:${port}/version`)).text()).toBe("1.1\n");
    const token = envToken("lc-a");

    const bad = await cli(["upgrade", "lc-a", "--image", BROKEN, "--json"], 1);
    expect(bad.json().error.message).toMatch(/rolled back: the previous version \(image clawfleet-test-gateway:1\.1\) is running, healthy/);
    expect(bad.stderr).toMatch(/last 50 lines/);
    await untilDockerHealthy("cf-lc-a");
    expect(docker("inspect", "--format", "{{.Config.Image}} {{.State.Running}} {{.State.Health.Status}}", "cf-lc-a")).toBe(`${NEXT} true healthy`);
    expect(await (await fetch(`http://127.0.0.1:${port}/version`)).text()).toBe("1.1\n");
    expect(readFileSync(path.join(instanceDir("lc-a"), "docker-compose.yml"), "utf8")).toContain(NEXT);
    expect(envToken("lc-a")).toBe(token);
    expect(await row("lc-a")).toMatchObject({ image: NEXT, status: "healthy" });
    const log = (await events("lc-a")).map((e) => `${e.action}:${e.outcome}`);
    expect(log.slice(-3)).toEqual(["instance.upgrade:ok", "instance.upgrade:failed", "instance.rollback:ok"]);

    // In sync with nothing to change: nothing is touched.
    const id = projectContainers("lc-a")[0];
    expect((await cli(["upgrade", "lc-a", "--json"])).json().action).toBe("none");
    expect(projectContainers("lc-a")[0]).toBe(id);
    const drift = (await cli(["status", "lc-a", "--json"])).json();
    expect(drift.config.state).toBe("in-sync");
  });

  it("destroy refuses without --force, then leaves nothing behind and frees the slot for the next provision", async () => {
    slotOfA = (await row("lc-a"))!.portSlot;
    const refused = await cli(["destroy", "lc-a"], 2);
    expect(refused.stderr).toMatch(/volume cf-lc-a-data/);
    expect(projectContainers("lc-a")).toHaveLength(1);

    const r = (await cli(["destroy", "lc-a", "--force", "--json"])).json();
    expect(r).toMatchObject({ customerId: "lc-a", freedSlot: slotOfA, keptData: false });
    expect(projectContainers("lc-a")).toEqual([]);
    expect(docker("volume", "ls", "-q", "--filter", "name=^cf-lc-a-data$")).toBe("");
    expect(docker("network", "ls", "-q", "--filter", "name=^cf-lc-a_default$")).toBe("");
    expect(existsSync(instanceDir("lc-a"))).toBe(false);
    expect(await row("lc-a")).toMatchObject({ status: "destroyed", portSlot: null });
    expect((await cli(["status", "lc-a"], 3)).stderr).toMatch(/destroyed/);
    expect((await cli(["list", "--all", "--json"])).json().instances).toEqual([expect.objectContaining({ customerId: "lc-a", status: "destroyed" })]);

    await cli(["provision", "--customer-id", "lc-b", "--plan", "free", "--host", host().name, "--image", IMAGE, "--json"]);
    expect((await row("lc-b"))!.portSlot).toBe(slotOfA);
  });

  it("reconcile finds a labelled container started by hand and an instance whose container was removed by hand, and fixes both", async () => {
    docker("run", "-d", "--name", "lc-orphan-it", "--label", "io.clawfleet.managed=true", "--label", "io.clawfleet.customer=lc-orphan", IMAGE);
    const token = envToken("lc-b");
    docker("rm", "-f", ...projectContainers("lc-b"));

    // A full scan: the sandbox's hosts share one Docker engine, so other runs' containers may show up too.
    const full = await cli(["reconcile", "--json"], 1);
    const findings = full.json().findings as { kind: string; customerId: string; hosts: string[] }[];
    expect(findings).toContainEqual(expect.objectContaining({ kind: "orphan", customerId: "lc-orphan", containerName: "lc-orphan-it" }));
    expect(findings).toContainEqual(expect.objectContaining({ kind: "missing", customerId: "lc-b", hosts: [host().name] }));
    // Reported once per engine, with every host that shares it.
    expect(findings.filter((f) => f.customerId === "lc-orphan")).toHaveLength(1);

    const only = ["--customer-id", "lc-orphan", "--customer-id", "lc-b"];
    const fixed = (await cli(["reconcile", "--fix", "--remove-orphans", ...only, "--json"])).json();
    expect(fixed.findings.map((f: { kind: string; action: string }) => `${f.kind}:${f.action}`).sort()).toEqual(["missing:re-provisioned", "orphan:removed"]);
    expect(docker("ps", "-aq", "--filter", "name=^lc-orphan-it$")).toBe("");
    await untilDockerHealthy("cf-lc-b");
    expect(docker("inspect", "--format", "{{.State.Health.Status}}", "cf-lc-b")).toBe("healthy");
    expect(envToken("lc-b")).toBe(token);
    expect((await cli(["reconcile", ...only, "--json"])).json()).toMatchObject({ findings: [], inSync: ["lc-b"], unresolved: 0 });
  });

  it("prune destroys expired instances and announces them on the webhook", async () => {
    const store = await openStore(db);
    await store.instances.update("lc-b", { expiresAt: new Date(Date.now() - 60_000) });
    await store.close();
    const dry = (await cli(["prune", "--dry-run", "--json"])).json();
    expect(dry.expired).toEqual([expect.objectContaining({ customerId: "lc-b", outcome: "would-destroy" })]);
    expect(projectContainers("lc-b")).toHaveLength(1);

    const hook = await webhookReceiver();
    try {
      const r = (await cli(["prune", "--json", "--webhook", hook.url])).json();
      expect(r.expired).toEqual([expect.objectContaining({ customerId: "lc-b", outcome: "destroyed", announced: true })]);
    } finally {
      await hook.close();
    }
    const received = hook.received;
    expect(received).toEqual([expect.objectContaining({ kind: "expired", customerId: "lc-b", host: host().name })]);
    expect(projectContainers("lc-b")).toEqual([]);
    expect((await events("lc-b")).map((e) => e.action)).toContain("instance.expire");
  });
});
