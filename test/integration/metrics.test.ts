import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openStore } from "../../src/store/open.js";
import { tempDbUrl } from "./cli.js";
import { addHosts, provisionFree, removeInstances, waitFor } from "./health-helpers.js";
import { describeSandbox } from "./sandbox.js";

// A real `clawfleet health daemon --metrics-listen` over the sandbox hosts, scraped over HTTP.
const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/clawfleet.js");
const CUSTOMER = "mt-metrics";
const env = { CLAWFLEET_DATABASE_URL: tempDbUrl("cf-metrics-") };
const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}.\\[\]"+]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);

describeSandbox("health daemon metrics", () => {
  let child: ChildProcess;
  let out = "";
  let address = "";
  const scrape = async () => (await fetch(`http://${address}/metrics`)).text();

  beforeAll(async () => {
    removeInstances([CUSTOMER]);
    await addHosts(env);
    await provisionFree(env, CUSTOMER, "sbx-1");
    // A registered host nobody listens for: every sweep's connect to it fails.
    const store = await openStore(env.CLAWFLEET_DATABASE_URL);
    await store.hosts.create({ name: "mt-gone", address: "127.0.9.1", port: 2299, user: "cfsandbox", identityFile: null, hostKey: "SHA256:x", remoteRoot: "/tmp/nowhere", shared: true, capacityMb: null, dockerOk: true });
    await store.close();
    child = spawn(process.execPath, [bin, "health", "daemon", "--every", "*/2 * * * * *", "--metrics-listen", "127.0.0.1:0", "--no-backups"], { env: { ...process.env, ...env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    address = await waitFor("the metrics address", () => /metrics: http:\/\/([^/]+)\/metrics/.exec(out)?.[1], 30_000);
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
    removeInstances([CUSTOMER]);
  });

  it("serves the fleet gauges as the DB has them, moving sweep and SSH counters, and no customer id", async () => {
    const first = await waitFor("two sweeps", async () => {
      const t = await scrape();
      return value(t, 'clawfleet_sweeps_total{result="attention"}') >= 2 && t;
    }, 60_000);
    expect(value(first, 'clawfleet_instances{status="healthy",plan="free"}')).toBe(1);
    expect(value(first, 'clawfleet_instances{status="healthy",plan="pro"}')).toBe(0);
    expect(value(first, 'clawfleet_hosts{status="down"}')).toBe(1);
    expect(value(first, 'clawfleet_hosts{status="active"}')).toBe(3);
    expect(value(first, 'clawfleet_ssh_errors_total{kind="connect"}')).toBeGreaterThanOrEqual(2);
    expect(value(first, 'clawfleet_health_checks_total{result="healthy"}')).toBeGreaterThanOrEqual(2);
    expect(value(first, "clawfleet_remote_command_duration_seconds_count")).toBeGreaterThanOrEqual(2);
    expect(value(first, 'clawfleet_alerts_total{kind="host-down",result="recorded"}')).toBe(1);
    expect(first).toMatch(/^process_resident_memory_bytes /m);
    expect(first).not.toContain(CUSTOMER);
    const later = await waitFor("another sweep", async () => {
      const t = await scrape();
      return value(t, "clawfleet_sweep_duration_seconds_count") > value(first, "clawfleet_sweep_duration_seconds_count") && t;
    });
    expect(value(later, "clawfleet_last_sweep_success_timestamp_seconds")).toBeGreaterThan(value(first, "clawfleet_last_sweep_success_timestamp_seconds"));
  });

  it("answers /healthz 200 while sweeps are recent, 404 elsewhere, and stops serving with the daemon", async () => {
    const h = await fetch(`http://${address}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toMatchObject({ ok: true });
    expect((await fetch(`http://${address}/nope`)).status).toBe(404);
    child.kill("SIGTERM");
    expect(await new Promise((r) => child.once("exit", (code) => r(code)))).toBe(0);
    await expect(fetch(`http://${address}/healthz`)).rejects.toThrow();
  });
});
