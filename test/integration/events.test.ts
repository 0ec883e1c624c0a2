import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/open.js";
import { runCli, tempDbUrl } from "./cli.js";
import { pgTestDatabase } from "./pg.js";

// `clawfleet events` through the real CLI, on real SQLite and real PostgreSQL.
const db = pgTestDatabase("cf_events");
const pgUrl = db.url;
const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/clawfleet.js");
const TOKEN = "c0ffee".repeat(10) + "abcd";

beforeAll(db.create);
afterAll(db.drop);

describe.each([["SQLite", () => tempDbUrl("cf-events-")], ["PostgreSQL", () => pgUrl]])("clawfleet events on %s", (_kind, urlOf) => {
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    env = { CLAWFLEET_DATABASE_URL: urlOf() };
    const store = await openStore(env.CLAWFLEET_DATABASE_URL);
    try {
      const h = await store.hosts.create({ name: "ev-host", address: "10.0.0.9", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:x", remoteRoot: "/opt/clawfleet", shared: true, capacityMb: null, dockerOk: true });
      await store.instances.claim({ customerId: "ev-acme", hostId: h.id, plan: "free", image: "i:1", dedicated: false, leaseOwner: "t", leaseMs: 1, now: new Date() });
      const rec = (action: string, target: string, detail?: string) => store.events.record({ actor: "cli:ops", action, target, outcome: "ok", detail });
      await rec("host.add", "ev-host");
      await rec("instance.provision", "ev-acme");
      await rec("health.restart", "ev-acme", `restart after healthz 500; token=${TOKEN}`);
      await rec("instance.provision", "ev-other");
    } finally {
      await store.close();
    }
  });

  it("lists newest first as one JSON document, with every filter, and never a secret", async () => {
    const all = await runCli(["events", "--json"], env);
    expect(all.code).toBe(0);
    const events = all.json<{ events: { action: string; target: string; detail: string | null }[] }>().events;
    expect(events.map((e) => `${e.action} ${e.target}`)).toEqual(["instance.provision ev-other", "health.restart ev-acme", "instance.provision ev-acme", "host.add ev-host"]);
    expect(all.stdout).not.toContain(TOKEN);
    expect(events[1]!.detail).toContain("token=***");
    const pick = async (...args: string[]) => (await runCli(["events", "--json", ...args], env)).json<{ events: { action: string; target: string }[] }>().events.map((e) => `${e.action} ${e.target}`);
    expect(await pick("--customer-id", "ev-acme")).toEqual(["health.restart ev-acme", "instance.provision ev-acme"]);
    expect(await pick("--host", "ev-host")).toEqual(["health.restart ev-acme", "instance.provision ev-acme", "host.add ev-host"]);
    expect(await pick("--action", "instance.")).toEqual(["instance.provision ev-other", "instance.provision ev-acme"]);
    expect(await pick("--limit", "1")).toEqual(["instance.provision ev-other"]);
    expect(await pick("--since", "1h")).toHaveLength(4);
  });

  it("prints a table for people and gives the contract's exit codes for bad input", async () => {
    const human = await runCli(["events", "--customer-id", "ev-acme"], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/health\.restart.*ev-acme/);
    expect(human.stdout).not.toContain(TOKEN);
    expect((await runCli(["events", "--host", "no-such-host"], env)).code).toBe(3);
    const bad = await runCli(["events", "--limit", "0"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--limit");
    expect((await runCli(["events", "--since", "soon"], env)).code).toBe(2);
  });

  it("--follow --json prints the last rows, then a row recorded after it started, and ends with exit 0 on SIGTERM", async () => {
    const child = spawn(process.execPath, [bin, "events", "--follow", "--json", "--limit", "1"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const until = async (f: () => boolean) => {
      for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 50));
    };
    await until(() => out.includes("ev-other"));
    const store = await openStore(env.CLAWFLEET_DATABASE_URL);
    await store.events.record({ actor: "cli:ops", action: "instance.stop", target: "ev-late", outcome: "ok" });
    await store.close();
    await until(() => out.includes("ev-late"));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(out.trim().split("\n").map((l) => JSON.parse(l).target)).toEqual(["ev-other", "ev-late"]);
  });
});
