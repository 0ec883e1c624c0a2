/**
 * dockerd restarted on a host while the health daemon sweeps it, for real: no restart storm and no
 * double restart. `restart: unless-stopped` brings the containers back, and the checker sees them
 * healthy again. Restarting the shared Docker Engine touches every sandbox host, so this test waits
 * until the engine and every container it stopped are back before it ends.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openStore } from "../../src/store/open.js";
import { runCli, tempDbUrl } from "./cli.js";
import { describeSandbox, repoRoot, sandboxHosts, sh } from "./sandbox.js";

const IMAGE = "clawfleet-test-gateway:1.0";
const bin = path.resolve("bin/clawfleet.js");
const CUSTOMERS = ["dr-a", "dr-b"];
const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8" }).trim();

function cleanup() {
  for (const c of CUSTOMERS) {
    const ids = docker("ps", "-aq", "--filter", `label=com.docker.compose.project=cf-${c}`).split("\n").filter(Boolean);
    if (ids.length) docker("rm", "-f", ...ids);
    execFileSync("bash", ["-c", `docker volume rm -f cf-${c}-data >/dev/null 2>&1; docker network rm cf-${c}_default >/dev/null 2>&1; true`]);
    for (const h of sandboxHosts()) rmSync(path.join(h.remoteRoot, "instances", c), { recursive: true, force: true });
  }
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const running = (c: string) => {
  try {
    return docker("inspect", "--format", "{{.State.Running}}", `cf-${c}`) === "true";
  } catch {
    return false;
  }
};

describeSandbox("dockerd restarted during health sweeps (real dockerd, sshd, SQLite)", () => {
  const db = tempDbUrl("cf-dockerd-");
  const env = { CLAWFLEET_DATABASE_URL: db };
  let daemon: ChildProcess | undefined;

  beforeAll(async () => {
    cleanup();
    const h = sandboxHosts()[0]!;
    const add = await runCli(["hosts", "add", h.name, "--ssh", `${h.user}@${h.address}:${h.port}`, "--identity", h.identityFile, "--host-key", h.fingerprint, "--remote-root", h.remoteRoot, "--shared"], env);
    expect(add.code, add.stderr).toBe(0);
    for (const c of CUSTOMERS) {
      const r = await runCli(["provision", "--customer-id", c, "--plan", "free", "--host", h.name, "--image", IMAGE], env);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    daemon?.kill("SIGKILL");
    // Whatever happened, leave a running engine behind for the next test file.
    await sh(`bash '${repoRoot}/scripts/lib/ensure-docker.sh'`, { timeoutMs: 120_000 });
    cleanup();
  });

  it("no restart storm, no double restart; the containers come back and are seen healthy", async () => {
    // A sweep every 2 s, restarting after 2 failed checks: the outage spans several sweeps.
    daemon = spawn(process.execPath, [bin, "health", "daemon", "--every", "*/2 * * * * *", "--failure-threshold", "2", "--no-backups", "--no-expire", "--json"], {
      env: { ...process.env, ...env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    daemon.stdout!.on("data", (d) => (out += d));
    daemon.stderr!.on("data", (d) => (out += d));
    const sweeps = () => out.split("\n").filter((l) => l.startsWith("{") && l.includes('"sweep')).length;
    await until("two sweeps before the outage", () => sweeps() >= 2, 30_000);

    const before = new Map(CUSTOMERS.map((c) => [c, docker("inspect", "--format", "{{.Id}}", `cf-${c}`)]));
    const pid = Number(execFileSync("pidof", ["dockerd"], { encoding: "utf8" }).trim().split(" ")[0]);
    const atStop = sweeps();
    process.kill(pid, "SIGTERM");
    await until("dockerd to exit", async () => (await sh(`kill -0 ${pid} 2>/dev/null`)).code !== 0, 60_000);
    // Docker stays down across several sweeps.
    await until("sweeps while Docker is down", () => sweeps() >= atStop + 3, 30_000);
    const up = await sh(`bash '${repoRoot}/scripts/lib/ensure-docker.sh'`, { timeoutMs: 120_000 });
    expect(up.code, up.stderr).toBe(0);
    await until("unless-stopped to bring both containers back", () => CUSTOMERS.every(running));
    // The same containers, restarted by Docker, not recreated by clawfleet.
    for (const c of CUSTOMERS) expect(docker("inspect", "--format", "{{.Id}}", `cf-${c}`)).toBe(before.get(c));

    const store = await openStore(db);
    try {
      const restartedAt = Date.now();
      await until("the checker to see both healthy again", async () => {
        for (const c of CUSTOMERS) {
          const row = await store.instances.get(c);
          const last = (await store.healthChecks.history(row!.id, { limit: 1 }))[0];
          if (!last?.ok || last.at.getTime() < restartedAt || row!.status !== "healthy") return false;
        }
        return true;
      });
      daemon.kill("SIGTERM");
      const restarts = await Promise.all(CUSTOMERS.map(async (c) => (await store.events.list({ target: c })).filter((e) => e.action === "health.restart")));
      for (const [i, list] of restarts.entries()) {
        expect(list.length, `health restarts of ${CUSTOMERS[i]}: ${list.map((e) => e.detail).join(" | ")}`).toBeLessThanOrEqual(1);
      }
      for (const c of CUSTOMERS) {
        const row = (await store.instances.get(c))!;
        expect(row.status).toBe("healthy");
        expect(row.quarantinedAt).toBeNull();
      }
    } finally {
      await store.close();
    }
  });
});
