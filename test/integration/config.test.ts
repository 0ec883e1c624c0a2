import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openStore } from "../../src/store/open.js";
import { runCli, tempDbUrl } from "./cli.js";
import { describeSandbox, sandboxHosts } from "./sandbox.js";
import { cleanupCustomers, containerEnv, docker, projectContainers } from "./lifecycle-helpers.js";

const IMAGE = "clawfleet-test-gateway:1.0";
const customers = ["cfg-a", "cfg-p", "cfg-q"];
const KEY1 = "sk-ant-config-test-key-one";
const KEY2 = "sk-ant-config-test-key-two";
const fingerprint = (k: string) => "sha256:" + createHash("sha256").update(k).digest("hex").slice(0, 16);

describeSandbox("config show / config set / provision --port (real sshd + Docker)", () => {
  const db = tempDbUrl("cf-cfg-");
  const tmp = mkdtempSync(path.join(os.tmpdir(), "cf-cfg-"));
  const plansFile = path.join(tmp, "plans.yaml");
  const env = { CLAWFLEET_DATABASE_URL: db, CLAWFLEET_PLANS: plansFile };
  const host = () => sandboxHosts()[0]!;
  const envFile = (c: string) => path.join(host().remoteRoot, "instances", c, ".env");
  const cli = async (args: string[], code = 0) => {
    const r = await runCli(args, env);
    expect(r.code, `${args.join(" ")}\n${r.stderr}\n${r.stdout}`).toBe(code);
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
  let token = "";

  beforeAll(async () => {
    cleanupCustomers(customers);
    // The test gateway reads CF_TEST_UNHEALTHY: a settable variable that can make a change fail for real.
    const plans = readFileSync(path.resolve("templates/plans.yaml"), "utf8")
      .replace(/healthTimeout: \S+/, "healthTimeout: 8s")
      .replace(/  settable:\n/, '  settable:\n    CF_TEST_UNHEALTHY: { default: "0", pattern: "0|1" }\n');
    expect(plans).toContain("CF_TEST_UNHEALTHY");
    writeFileSync(plansFile, plans);
    writeFileSync(path.join(tmp, "key1"), KEY1 + "\n", { mode: 0o600 });
    writeFileSync(path.join(tmp, "key2"), KEY2 + "\n", { mode: 0o600 });
    const h = host();
    await cli(["hosts", "add", h.name, "--ssh", `${h.user}@${h.address}:${h.port}`, "--identity", h.identityFile, "--host-key", h.fingerprint, "--remote-root", h.remoteRoot, "--shared"]);
    token = (await cli(["provision", "--customer-id", "cfg-a", "--plan", "free", "--host", h.name, "--image", IMAGE, "--api-key-file", path.join(tmp, "key1"), "--json"])).json().gatewayToken;
  });
  afterAll(() => cleanupCustomers(customers));

  it("config show lists the settings and every .env key, and never the token or the API key", async () => {
    const human = await cli(["config", "show", "cfg-a"]);
    const json = await cli(["config", "show", "cfg-a", "--json"]);
    for (const r of [human, json]) {
      expect(r.stdout + r.stderr).not.toContain(token);
      expect(r.stdout + r.stderr).not.toContain(KEY1);
    }
    const c = json.json();
    expect(c).toMatchObject({ customerId: "cfg-a", plan: "free", host: host().name, image: IMAGE, limits: { memory: "512m", cpus: 0.5, pids: 128 }, config: { state: "in-sync" } });
    expect(c.ports.gateway).toBeGreaterThanOrEqual(18800);
    expect(c.settings).toEqual(expect.arrayContaining([expect.objectContaining({ key: "OPENCLAW_LOG_LEVEL", value: "info", source: "default" })]));
    expect(c.env).toMatchObject({ reachable: true, file: "present", mode: "600" });
    const vars = Object.fromEntries((c.env.vars as { key: string }[]).map((v) => [v.key, v]));
    expect(vars.OPENCLAW_GATEWAY_TOKEN).toEqual({ key: "OPENCLAW_GATEWAY_TOKEN", value: null, masked: true, note: "matches the recorded hash" });
    expect(vars.ANTHROPIC_API_KEY).toMatchObject({ masked: true, value: null, note: `fingerprint ${fingerprint(KEY1)}, as recorded` });
    expect(vars.OPENCLAW_LOG_LEVEL).toEqual({ key: "OPENCLAW_LOG_LEVEL", value: "info", masked: false });
    expect(human.stdout).toMatch(/OPENCLAW_LOG_LEVEL\s*│ info/);
  });

  it("config set of a settable key lands in .env (still 0600) and the container sees it; rejected values change nothing", async () => {
    const dry = (await cli(["config", "set", "cfg-a", "OPENCLAW_LOG_LEVEL=debug", "--dry-run", "--json"])).json();
    expect(dry).toMatchObject({ action: "dry-run", changes: [{ key: "OPENCLAW_LOG_LEVEL", from: "info", to: "debug" }] });
    expect(readFileSync(envFile("cfg-a"), "utf8")).toMatch(/^OPENCLAW_LOG_LEVEL=info$/m);
    const r = (await cli(["config", "set", "cfg-a", "OPENCLAW_LOG_LEVEL=debug", "--json"])).json();
    expect(r).toMatchObject({ action: "updated", changes: [{ key: "OPENCLAW_LOG_LEVEL", from: "info", to: "debug" }] });
    expect(readFileSync(envFile("cfg-a"), "utf8")).toMatch(/^OPENCLAW_LOG_LEVEL=debug$/m);
    expect(statSync(envFile("cfg-a")).mode & 0o777).toBe(0o600);
    expect(containerEnv("cfg-a")).toContain("OPENCLAW_LOG_LEVEL=debug");
    expect(await row("cfg-a")).toMatchObject({ settings: '{"OPENCLAW_LOG_LEVEL":"debug"}', configHash: r.configHash.to, status: "healthy" });

    const envBefore = readFileSync(envFile("cfg-a"), "utf8");
    const containerBefore = projectContainers("cfg-a");
    const rowBefore = await row("cfg-a");
    const refused = [
      await cli(["config", "set", "cfg-a", "OPENCLAW_LOG_LEVEL=loud"], 2),
      await cli(["config", "set", "cfg-a", "OPENCLAW_GATEWAY_TOKEN=" + "e".repeat(64)], 2),
      await cli(["config", "set", "cfg-a", "NOPE=1"], 2),
      await cli(["config", "set", "cfg-a", "ANTHROPIC_API_KEY=" + KEY2], 2),
    ];
    expect(refused[0]!.stderr).toMatch(/OPENCLAW_LOG_LEVEL: the value does not match/);
    expect(refused[1]!.stderr).toMatch(/rotate-token/);
    expect(refused[2]!.stderr).toMatch(/NOPE: not settable in plan free[\s\S]*settable in plan free: CF_TEST_UNHEALTHY, OPENCLAW_LOG_LEVEL/);
    expect(refused[3]!.stderr).toMatch(/--api-key-file/);
    for (const x of refused) expect(x.stderr).not.toContain(KEY2);
    expect(readFileSync(envFile("cfg-a"), "utf8")).toBe(envBefore);
    expect(projectContainers("cfg-a")).toEqual(containerBefore);
    expect(await row("cfg-a")).toEqual(rowBefore);
  });

  it("a change that leaves the instance unhealthy is rolled back: the old .env and container come back, the DB keeps the old settings", async () => {
    const envBefore = readFileSync(envFile("cfg-a"), "utf8");
    const rowBefore = await row("cfg-a");
    const r = await cli(["config", "set", "cfg-a", "CF_TEST_UNHEALTHY=1"], 1);
    expect(r.stderr).toMatch(/rolled back/);
    expect(readFileSync(envFile("cfg-a"), "utf8")).toBe(envBefore);
    expect(containerEnv("cfg-a")).toContain("CF_TEST_UNHEALTHY=0");
    const after = await row("cfg-a");
    expect(after).toMatchObject({ settings: rowBefore!.settings, configHash: rowBefore!.configHash, status: "healthy" });
    expect((await cli(["status", "cfg-a", "--json"])).json().config.state).toBe("in-sync");
  });

  it("--api-key-file replaces the key: the .env and container hold the new one, and the DB fingerprint changes", async () => {
    expect((await row("cfg-a"))!.apiKeyFingerprint).toBe(fingerprint(KEY1));
    const r = await cli(["config", "set", "cfg-a", "--api-key-file", path.join(tmp, "key2"), "--json"]);
    expect(r.json().changes).toEqual([{ key: "ANTHROPIC_API_KEY", from: fingerprint(KEY1), to: fingerprint(KEY2) }]);
    expect(r.stdout + r.stderr).not.toContain(KEY2);
    expect((await row("cfg-a"))!.apiKeyFingerprint).toBe(fingerprint(KEY2));
    expect(readFileSync(envFile("cfg-a"), "utf8")).toMatch(new RegExp(`^ANTHROPIC_API_KEY=${KEY2}$`, "m"));
    expect(containerEnv("cfg-a")).toContain(`ANTHROPIC_API_KEY=${KEY2}`);
    // The token and the earlier setting were carried over.
    expect(containerEnv("cfg-a")).toContain(`OPENCLAW_GATEWAY_TOKEN=${token}`);
    expect(containerEnv("cfg-a")).toContain("OPENCLAW_LOG_LEVEL=debug");
    const events = (await cli(["events", "--customer-id", "cfg-a", "--json"])).stdout;
    expect(events).toContain("instance.config-set");
    expect(events).not.toContain(KEY2);
  });

  it("provision --port takes exactly that gateway port on the grid, and refuses off-grid, held and busy ports without claiming anything", async () => {
    const p = (await cli(["provision", "--customer-id", "cfg-p", "--plan", "free", "--host", host().name, "--image", IMAGE, "--port", "19160", "--json"])).json();
    expect(p.ports).toMatchObject({ gateway: 19160, bridge: 19161, browser: 19162, cdpStart: 19169, cdpEnd: 19268 });
    expect(docker("port", "cf-cfg-p", "18789/tcp")).toBe("127.0.0.1:19160");
    expect((await row("cfg-p"))!.portSlot).toBe(3);

    const off = await cli(["provision", "--customer-id", "cfg-q", "--plan", "free", "--host", host().name, "--image", IMAGE, "--port", "19000"], 2);
    expect(off.stderr).toMatch(/not on the slot grid[\s\S]*18920 or 19040/);
    const held = await cli(["provision", "--customer-id", "cfg-q", "--plan", "free", "--host", host().name, "--image", IMAGE, "--port", "19160"], 4);
    expect(held.stderr).toMatch(/slot 3 is already held by instance cfg-p/);
    // Something else listens on the next slot's browser port.
    const squatter = net.createServer().listen(19282, "127.0.0.1");
    await new Promise((r) => squatter.once("listening", r));
    try {
      const busy = await cli(["provision", "--customer-id", "cfg-q", "--plan", "free", "--host", host().name, "--image", IMAGE, "--port", "19280"], 4);
      expect(busy.stderr).toMatch(/port 19282 of slot 4 is in use on host/);
    } finally {
      squatter.close();
    }
    expect(await row("cfg-q")).toBeNull();
    expect(existsSync(path.join(host().remoteRoot, "instances", "cfg-q"))).toBe(false);
    expect(projectContainers("cfg-q")).toEqual([]);
  });
});
