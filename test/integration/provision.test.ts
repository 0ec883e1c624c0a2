import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openStore } from "../../src/store/open.js";
import { runCli, tempDbUrl } from "./cli.js";
import { describeSandbox, sandboxHosts } from "./sandbox.js";

const IMAGE = "clawfleet-test-gateway:1.0";
const BROKEN = "clawfleet-test-gateway:never-healthy";
const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8" }).trim();
const containerOf = (customer: string) => docker("ps", "-aq", "--filter", `label=io.clawfleet.customer=${customer}`);
const customers = ["it-free", "it-pro", "it-ent", "it-par-a", "it-par-b", "it-race", "it-bad", "it-inject"];

function cleanup() {
  for (const c of customers) {
    const ids = containerOf(c);
    if (ids) docker("rm", "-f", ...ids.split("\n"));
    execFileSync("bash", ["-c", `docker volume rm -f cf-${c}-data >/dev/null 2>&1; docker network rm cf-${c}_default >/dev/null 2>&1; true`]);
    for (const h of sandboxHosts()) rmSync(path.join(h.remoteRoot, "instances", c), { recursive: true, force: true });
  }
}

describeSandbox("clawfleet provision (real sshd + Docker)", () => {
  const db = tempDbUrl();
  const env = { CLAWFLEET_DATABASE_URL: db };
  const hosts = () => sandboxHosts();
  const tokens = new Map<string, string>();
  // A short health timeout keeps the failure cases quick.
  const plansDir = mkdtempSync(path.join(os.tmpdir(), "cf-plans-"));
  const fastPlans = path.join(plansDir, "plans.yaml");
  const cdpPlans = path.join(plansDir, "plans-cdp.yaml");

  beforeAll(async () => {
    cleanup();
    const shipped = readFileSync(path.resolve("templates/plans.yaml"), "utf8");
    writeFileSync(fastPlans, shipped.replace(/healthTimeout: \S+/, "healthTimeout: 8s"));
    // Enterprise here asks for its CDP range (plans.yaml cdpPorts), so the range's binding is proven too.
    writeFileSync(cdpPlans, shipped.replace("backups: daily }", "backups: daily, cdpPorts: true }"));
    for (const [i, h] of hosts().slice(0, 3).entries()) {
      const args = ["hosts", "add", h.name, "--ssh", `${h.user}@${h.address}:${h.port}`, "--identity", h.identityFile, "--host-key", h.fingerprint, "--remote-root", h.remoteRoot];
      const r = await runCli(i === 2 ? [...args, "--shared"] : args, env);
      expect(r.code, r.stderr).toBe(0);
    }
  });
  afterAll(cleanup);

  it.each([
    ["free", "it-free", 2],
    ["pro", "it-pro", 0],
    ["enterprise", "it-ent", 1],
  ])("the %s plan provisions and comes up healthy", async (plan, customer, hostIndex) => {
    const plans = plan === "enterprise" ? ["--plans", cdpPlans] : [];
    const r = await runCli(["provision", "--customer-id", customer, "--plan", plan, "--host", hosts()[hostIndex]!.name, "--image", IMAGE, ...plans, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const res = r.json();
    expect(res).toMatchObject({ customerId: customer, plan, host: hosts()[hostIndex]!.name, status: "healthy" });
    expect(res.gatewayToken).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(res.ports)).toEqual(["gateway", "bridge", "browser", "cdpStart", "cdpEnd"]);
    expect(res.url).toBe(`http://127.0.0.1:${res.ports.gateway}/`);
    expect(r.stderr).not.toContain(res.gatewayToken);
    tokens.set(customer, res.gatewayToken);
    const health = await fetch(`${res.url}healthz`);
    expect(health.status).toBe(200);
  });

  it("docker inspect shows every hardening item and the plan's limits", () => {
    const limits: Record<string, { mem: number; cpus: number; pids: number }> = {
      "it-free": { mem: 512 * 2 ** 20, cpus: 0.5, pids: 128 },
      "it-pro": { mem: 2 * 2 ** 30, cpus: 1, pids: 256 },
      "it-ent": { mem: 4 * 2 ** 30, cpus: 2, pids: 512 },
    };
    for (const [customer, want] of Object.entries(limits)) {
      const [c] = JSON.parse(docker("inspect", containerOf(customer)));
      const hc = c.HostConfig;
      expect(hc.CapDrop).toEqual(["ALL"]);
      expect(hc.SecurityOpt).toContain("no-new-privileges:true");
      expect(hc.ReadonlyRootfs).toBe(true);
      expect(Object.keys(hc.Tmpfs ?? {})).toContain("/tmp");
      expect(hc.PidsLimit).toBe(want.pids);
      expect(hc.Memory).toBe(want.mem);
      expect(hc.MemorySwap).toBe(want.mem);
      expect(hc.NanoCpus).toBe(want.cpus * 1e9);
      expect(hc.LogConfig).toEqual({ Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } });
      expect(hc.RestartPolicy.Name).toBe("unless-stopped");
      expect(c.Config.Healthcheck?.Test?.length).toBeGreaterThan(0);
      expect(c.Config.Image).toBe(IMAGE);
      expect(c.Config.Labels).toMatchObject({ "io.clawfleet.managed": "true", "io.clawfleet.customer": customer });
      expect(c.Config.Labels["io.clawfleet.config-hash"]).toMatch(/^[0-9a-f]{16,64}$/);
      expect(c.Mounts).toContainEqual(expect.objectContaining({ Type: "volume", Name: `cf-${customer}-data`, Destination: "/home/node/.openclaw" }));
      const bindings = Object.values(hc.PortBindings ?? {}).flat() as { HostIp: string }[];
      if (customer === "it-ent") expect(bindings.length).toBeGreaterThanOrEqual(103);
      else expect(bindings.length).toBe(3);
      for (const b of bindings) expect(b.HostIp).toBe("127.0.0.1");
    }
  });

  it("keeps the token only in the host's 0600 .env: the DB holds its hash, never the token", async () => {
    const token = tokens.get("it-pro")!;
    const envFile = path.join(hosts()[0]!.remoteRoot, "instances", "it-pro", ".env");
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(envFile, "utf8")).toContain(token);
    const dbFile = db.slice("file:".length);
    const bytes = [dbFile, dbFile + "-wal"].filter(existsSync).map((f) => readFileSync(f).toString("latin1")).join("");
    expect(bytes).not.toContain(token);
    const store = await openStore(db);
    const row = await store.instances.get("it-pro");
    await store.close();
    expect(row?.tokenHash).toBe(execFileSync("sha256sum", { input: token, encoding: "utf8" }).split(" ")[0]);
  });

  it("re-running provision.sh with the same inputs changes nothing and keeps the container id", () => {
    const before = containerOf("it-pro");
    const dir = path.join(hosts()[0]!.remoteRoot, "instances", "it-pro");
    const h = hosts()[0]!;
    const out = execFileSync("ssh", ["-i", h.identityFile, "-p", String(h.port), "-o", `UserKnownHostsFile=${knownHosts(h)}`, "-o", "StrictHostKeyChecking=yes", `${h.user}@${h.address}`,
      `cd ${dir} && mkdir -p .staged && cp docker-compose.yml .env provision.sh .staged/ && bash .staged/provision.sh 2>/dev/null | tail -n 1`], { encoding: "utf8" });
    const result = JSON.parse(out.replace(/^CLAWFLEET_RESULT /, ""));
    expect(result).toMatchObject({ status: "healthy", changed: false });
    expect(containerOf("it-pro")).toBe(before);
  });

  it("a second provision of a live customer is refused with exit 4", async () => {
    const r = await runCli(["provision", "--customer-id", "it-pro", "--plan", "pro", "--host", hosts()[0]!.name, "--image", IMAGE], env);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/already has/);
  });

  it("a pro instance on a host that already carries one is refused with exit 4", async () => {
    const r = await runCli(["provision", "--customer-id", "it-race", "--plan", "pro", "--host", hosts()[0]!.name, "--image", IMAGE], env);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/dedicated/);
  });

  it("two concurrent provisions of different customers on one shared host get different slots", async () => {
    const shared = hosts()[2]!.name;
    const [a, b] = await Promise.all(["it-par-a", "it-par-b"].map((c) => runCli(["provision", "--customer-id", c, "--plan", "free", "--host", shared, "--image", IMAGE, "--json"], env)));
    expect(a!.code, a!.stderr).toBe(0);
    expect(b!.code, b!.stderr).toBe(0);
    expect(a!.json().ports.gateway).not.toBe(b!.json().ports.gateway);
  });

  it("two concurrent provisions of the same customer: one wins, the other exits 4", async () => {
    const runs = await Promise.all([0, 1].map(() => runCli(["provision", "--customer-id", "it-race", "--plan", "free", "--host", hosts()[2]!.name, "--image", IMAGE, "--json"], env)));
    expect(runs.map((r) => r.code).sort()).toEqual([0, 4]);
  });

  it("an image that never becomes healthy exits 1 with the log tail, is marked failed and leaves nothing running; a retry resumes", async () => {
    const args = ["provision", "--customer-id", "it-bad", "--plan", "free", "--host", hosts()[2]!.name, "--plans", fastPlans];
    const r = await runCli([...args, "--image", BROKEN], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/did not become healthy/);
    expect(r.stderr).toMatch(/last 50 lines/);
    expect(containerOf("it-bad")).toBe("");
    const store = await openStore(db);
    expect(await store.instances.get("it-bad")).toMatchObject({ status: "failed" });
    await store.close();
    const again = await runCli([...args, "--image", IMAGE], env);
    expect(again.code, again.stderr).toBe(0);
  });

  it.each([
    ["customer id", ["--customer-id", "x;touch /tmp/cf-pwned", "--plan", "free"], 2, /--customer-id/],
    ["customer id path", ["--customer-id", "../../etc", "--plan", "free"], 2, /--customer-id/],
    ["plan", ["--customer-id", "it-inject", "--plan", "gold"], 2, /--plan/],
    ["image", ["--customer-id", "it-inject", "--plan", "free", "--image", "busybox:1;touch /tmp/cf-pwned"], 2, /--image/],
    ["latest image", ["--customer-id", "it-inject", "--plan", "free", "--image", "busybox:latest"], 2, /latest/],
    ["untagged image", ["--customer-id", "it-inject", "--plan", "free", "--image", "busybox"], 2, /no tag/],
    ["host", ["--customer-id", "it-inject", "--plan", "free", "--host", "sbx-1;touch /tmp/cf-pwned"], 3, /no host named/],
    ["api key file", ["--customer-id", "it-inject", "--plan", "free", "--api-key-file", "/nonexistent"], 2, /--api-key-file/],
  ])("bad %s input is refused before anything runs", async (_what, args, code, message) => {
    const r = await runCli(["provision", ...args], env);
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(existsSync("/tmp/cf-pwned")).toBe(false);
  });

  it("an API key with shell metacharacters is refused with exit 2 and leaves no row; a real key lands literally in .env", async () => {
    const keyFile = path.join(plansDir, "key");
    writeFileSync(keyFile, "sk-ant-$(touch${IFS}/tmp/cf-pwned)`id`;|&\n", { mode: 0o600 });
    const base = ["provision", "--customer-id", "it-inject", "--plan", "free", "--host", hosts()[2]!.name, "--image", IMAGE, "--api-key-file", keyFile];
    const bad = await runCli(base, env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--api-key-file/);
    expect(bad.stderr).not.toContain("touch");
    expect(existsSync("/tmp/cf-pwned")).toBe(false);
    const store = await openStore(db);
    expect(await store.instances.get("it-inject")).toBeNull();
    await store.close();
    const key = "sk-ant-api03-Zx_9+/=:@~,-" + "k".repeat(40);
    writeFileSync(keyFile, key + "\n");
    const good = await runCli(base, env);
    expect(good.code, good.stderr).toBe(0);
    const envText = readFileSync(path.join(hosts()[2]!.remoteRoot, "instances", "it-inject", ".env"), "utf8");
    expect(envText).toContain(`ANTHROPIC_API_KEY=${key}\n`);
  });

  it("--dry-run prints the files and planned actions and touches nothing", async () => {
    const r = await runCli(["provision", "--customer-id", "it-dry", "--plan", "pro", "--host", hosts()[1]!.name, "--image", IMAGE, "--dry-run", "--json"], { ...env, CLAWFLEET_API_KEY: "sk-dry-secret" });
    expect(r.code, r.stderr).toBe(0);
    const res = r.json();
    expect(res.dryRun).toBe(true);
    expect(res.files.map((f: { path: string }) => path.basename(f.path))).toEqual(["docker-compose.yml", ".env", "provision.sh"]);
    expect(r.stdout).not.toContain("sk-dry-secret");
    expect(existsSync(path.join(hosts()[1]!.remoteRoot, "instances", "it-dry"))).toBe(false);
    const store = await openStore(db);
    expect(await store.instances.get("it-dry")).toBeNull();
    await store.close();
  });
});

function knownHosts(h: { address: string; port: number; hostKey?: string }): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "cf-kh-")), "known_hosts");
  writeFileSync(file, `[${h.address}]:${h.port} ${h.hostKey}\n`);
  return file;
}
