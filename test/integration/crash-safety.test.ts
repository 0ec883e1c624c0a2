/**
 * Faults for real: the CLI SIGKILLed at each step of a provision, the host's sshd killed in the
 * middle of one, and the leases, placement and unlock paths around them. Real sshd, Docker, SQLite.
 */
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openStore } from "../../src/store/open.js";
import { runCli, tempDbUrl } from "./cli.js";
import { describeSandbox, runSandbox, sandboxDir, sandboxHosts } from "./sandbox.js";

const IMAGE = "clawfleet-test-gateway:1.0";
const bin = path.resolve("bin/clawfleet.js");
const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8" }).trim();
const containersOf = (customer: string) => docker("ps", "-aq", "--filter", `label=com.docker.compose.project=cf-${customer}`).split("\n").filter(Boolean);
const KILL_STEPS = ["place", "connect", "upload", "start", "record"] as const;
const customers = [...KILL_STEPS.map((s) => `cs-kill-${s}`), "cs-sshd", "cs-cap-a", "cs-cap-b", "cs-cap-c", "cs-drain", "cs-unlock"];

/** Which stderr line of a running `provision` marks each step; the kill follows it at once. */
const TRIGGERS: Record<(typeof KILL_STEPS)[number], RegExp> = {
  place: /✓ place/, // claimed in the DB, nothing on the host yet
  connect: /✓ connect/, // connected; the files are not staged yet
  upload: /✓ prepare/, // files staged on the host; provision.sh not started
  start: /clawfleet\[cs-kill-start\]: starting/, // provision.sh running compose up (its log line, via CLAWFLEET_VERBOSE)
  record: /✓ healthy/, // healthy on the host, not yet recorded in the DB
};

function cleanup() {
  for (const c of customers) {
    const ids = containersOf(c);
    if (ids.length) docker("rm", "-f", ...ids);
    execFileSync("bash", ["-c", `docker volume rm -f cf-${c}-data >/dev/null 2>&1; docker network rm cf-${c}_default >/dev/null 2>&1; true`]);
    for (const h of sandboxHosts()) rmSync(path.join(h.remoteRoot, "instances", c), { recursive: true, force: true });
  }
}

/** Starts the CLI and SIGKILLs it as soon as a stderr line matches; resolves with what it printed. */
function killAt(args: string[], env: NodeJS.ProcessEnv, trigger: RegExp): Promise<{ killed: boolean; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, NO_COLOR: "1", CLAWFLEET_VERBOSE: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let killed = false;
    child.stderr.on("data", (d) => {
      stderr += d;
      if (!killed && trigger.test(stderr)) {
        killed = true;
        child.kill("SIGKILL");
      }
    });
    child.stdout.resume();
    child.on("error", reject);
    child.on("close", (code) => resolve({ killed, stderr, code }));
  });
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** provision.sh processes still running for a customer on this machine (the sandbox hosts run here). */
function remoteScripts(customer: string): string {
  try {
    // pgrep itself, not through a shell: a shell's own command line would match the pattern.
    return execFileSync("pgrep", ["-af", `instances/${customer}/provision.sh`], { encoding: "utf8" }).trim();
  } catch {
    return ""; // exit 1: nothing matches
  }
}

/** Every descendant of `pid`, deepest first (an sshd listener's per-connection monitors and sessions). */
function descendants(pid: number): number[] {
  let kids: number[] = [];
  try {
    kids = execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" }).split("\n").map((l) => Number(l.trim())).filter(Boolean);
  } catch {
    kids = [];
  }
  return kids.flatMap((k) => [...descendants(k), k]);
}

describeSandbox("crash safety (real sshd + Docker + SQLite)", () => {
  const db = tempDbUrl("cf-crash-");
  const env = { CLAWFLEET_DATABASE_URL: db };
  const hosts = () => sandboxHosts();
  const row = async (customer: string) => {
    const store = await openStore(db);
    try {
      return { row: await store.instances.get(customer), all: await store.instances.list() };
    } finally {
      await store.close();
    }
  };

  beforeAll(async () => {
    cleanup();
    // sbx-1 and sbx-2 shared (free instances), sbx-3 dedicated.
    for (const [i, h] of hosts().slice(0, 3).entries()) {
      const args = ["hosts", "add", h.name, "--ssh", `${h.user}@${h.address}:${h.port}`, "--identity", h.identityFile, "--host-key", h.fingerprint, "--remote-root", h.remoteRoot];
      const r = await runCli(i < 2 ? [...args, "--shared"] : args, env);
      expect(r.code, r.stderr).toBe(0);
    }
  });
  afterAll(cleanup);

  it.each(KILL_STEPS)("SIGKILL of the CLI after the %s step: a re-run at once completes, with one container and one slot", async (stepName) => {
    const customer = `cs-kill-${stepName}`;
    const args = ["provision", "--customer-id", customer, "--plan", "free", "--host", hosts()[0]!.name, "--image", IMAGE, "--json"];
    const first = await killAt(args, env, TRIGGERS[stepName]);
    expect(first.killed, `the ${stepName} trigger never showed:\n${first.stderr}`).toBe(true);
    // The killed client leaves no remote process behind holding the instance's flock.
    await until(`no provision.sh left for ${customer}`, () => remoteScripts(customer) === "");
    const started = Date.now();
    const again = await runCli(args, env);
    expect(again.code, again.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(90_000);
    expect(again.json()).toMatchObject({ customerId: customer, status: "healthy" });
    expect(containersOf(customer)).toHaveLength(1);
    const { row: r, all } = await row(customer);
    expect(r).toMatchObject({ status: "healthy", leaseOwner: null });
    const sameSlot = all.filter((x) => x.hostId === r!.hostId && x.portSlot === r!.portSlot);
    expect(sameSlot.map((x) => x.customerId)).toEqual([customer]);
    const health = await fetch(`${again.json().url}healthz`);
    expect(health.status).toBe(200);
  });

  it("sshd killed mid-provision: exit 1 naming the host, and a re-run completes", async () => {
    const h = hosts()[1]!;
    const customer = "cs-sshd";
    const args = ["provision", "--customer-id", customer, "--plan", "free", "--host", h.name, "--image", IMAGE];
    const pidFile = path.join(sandboxDir, h.name, "sshd.pid");
    const listener = Number(readFileSync(pidFile, "utf8").trim());
    const run = new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      let cut = false;
      child.stderr.on("data", (d) => {
        stderr += d;
        if (!cut && /✓ prepare/.test(stderr)) {
          cut = true;
          // The listener and every session it forked: the connection dies mid-run.
          for (const pid of [...descendants(listener), listener]) {
            try {
              process.kill(pid, "SIGKILL");
            } catch {
              // already gone
            }
          }
        }
      });
      child.on("close", (code) => resolve({ code, stderr }));
    });
    try {
      const r = await run;
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(h.name);
      expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    } finally {
      const up = await runSandbox(["start", "3"]);
      expect(up.code, up.stderr).toBe(0);
    }
    const again = await runCli([...args, "--json"], env);
    expect(again.code, again.stderr).toBe(0);
    expect(containersOf(customer)).toHaveLength(1);
  });

  it("placement respects capacity: exit 4 naming the memory needed and the best host's room, nothing claimed or started", async () => {
    const [a, b] = hosts();
    // MemTotal was read at hosts add: capacity shows in hosts list.
    const listed = await runCli(["hosts", "list", "--json"], env);
    const first = listed.json().hosts.find((x: { name: string }) => x.name === a!.name);
    const memTotal = Math.round(os.totalmem() / 2 ** 20);
    expect(first.memTotalMb).toBeGreaterThan(memTotal * 0.9);
    expect(first.effectiveCapacityMb).toBe(first.memTotalMb - 1024);
    // 1 free instance (512 MB) fits on each host; sbx-1 already carries the kill-test instances.
    for (const h of [a!, b!]) {
      const used = listed.json().hosts.find((x: { name: string }) => x.name === h.name).usedMb as number;
      const set = await runCli(["hosts", "set", h.name, "--capacity-mb", String(used + 512), "--json"], env);
      expect(set.code, set.stderr).toBe(0);
    }
    for (const c of ["cs-cap-a", "cs-cap-b"]) {
      const r = await runCli(["provision", "--customer-id", c, "--plan", "free", "--image", IMAGE, "--json"], env);
      expect(r.code, r.stderr).toBe(0);
    }
    const placed = [(await row("cs-cap-a")).row!.hostId, (await row("cs-cap-b")).row!.hostId];
    expect(new Set(placed).size).toBe(2); // the shared host with the most room, each time
    const full = await runCli(["provision", "--customer-id", "cs-cap-c", "--plan", "free", "--image", IMAGE], env);
    expect(full.code, full.stderr).toBe(4);
    expect(full.stderr).toMatch(/needs? .*512 MB|512 MB instance/);
    expect(full.stderr).toMatch(/0 MB free of \d+ MB/);
    expect((await row("cs-cap-c")).row).toBeNull();
    expect(containersOf("cs-cap-c")).toHaveLength(0);
    const shown = await runCli(["hosts", "list"], env);
    expect(shown.stdout).toMatch(/\d+ \/ \d+ MB/);
  });

  it("a drained host takes no new instance; undrained, it does", async () => {
    const h = hosts()[1]!;
    expect((await runCli(["hosts", "set", h.name, "--capacity-mb", "100000", "--drain"], env)).code).toBe(0);
    const refused = await runCli(["provision", "--customer-id", "cs-drain", "--plan", "free", "--host", h.name, "--image", IMAGE], env);
    expect(refused.code, refused.stderr).toBe(4);
    expect(refused.stderr).toMatch(/drained/);
    expect((await row("cs-drain")).row).toBeNull();
    expect((await runCli(["hosts", "set", h.name, "--undrain"], env)).code).toBe(0);
    const ok = await runCli(["provision", "--customer-id", "cs-drain", "--plan", "free", "--host", h.name, "--image", IMAGE, "--json"], env);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it("unlock: a live lease held elsewhere needs --force, names its holder, and records an Event", async () => {
    const customer = "cs-unlock";
    const ok = await runCli(["provision", "--customer-id", customer, "--plan", "free", "--host", hosts()[1]!.name, "--image", IMAGE, "--json"], env);
    expect(ok.code, ok.stderr).toBe(0);
    const store = await openStore(db);
    try {
      await store.instances.update(customer, { leaseOwner: "ci-runner-7:4242:upgrade:beef", leaseUntil: new Date(Date.now() + 25_000), leaseSince: new Date() });
    } finally {
      await store.close();
    }
    const busy = await runCli(["restart", customer], env);
    expect(busy.code).toBe(4);
    expect(busy.stderr).toMatch(/held by upgrade on host ci-runner-7, pid 4242, since .*lapses in \d+ s/);
    const refused = await runCli(["unlock", customer], env);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/--force/);
    const forced = await runCli(["unlock", customer, "--force", "--json"], env);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.json().released).toMatchObject({ owner: "ci-runner-7:4242:upgrade:beef", why: "forced" });
    const restarted = await runCli(["restart", customer], env);
    expect(restarted.code, restarted.stderr).toBe(0);
    const s2 = await openStore(db);
    try {
      const events = await s2.events.list({ target: customer });
      expect(events.some((e) => e.action === "instance.unlock" && /ci-runner-7/.test(e.detail ?? ""))).toBe(true);
    } finally {
      await s2.close();
    }
  });
});
