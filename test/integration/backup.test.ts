import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openStore } from "../../src/store/open.js";
import { runCli, tempDbUrl } from "./cli.js";
import { describeSandbox, sandboxHosts } from "./sandbox.js";
import { cleanupCustomers, docker, waitFor } from "./lifecycle-helpers.js";
import { containerState, DATA, delayProxy, volumeDigest, writeData } from "./backup-helpers.js";

const IMAGE = "clawfleet-test-gateway:1.0";
const customers = ["bk-a", "bk-clone", "bk-cut", "bk-sched"];
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describeSandbox("backups and restore (real sshd + Docker)", () => {
  const db = tempDbUrl("cf-bk-");
  const tmp = mkdtempSync(path.join(os.tmpdir(), "cf-bk-"));
  const plansFile = path.join(tmp, "plans.yaml");
  const backupDir = path.join(tmp, "backups");
  const env = { CLAWFLEET_DATABASE_URL: db, CLAWFLEET_PLANS: plansFile, CLAWFLEET_BACKUP_DIR: backupDir };
  const host = () => sandboxHosts()[0]!;
  const cli = async (args: string[], code = 0, extra: NodeJS.ProcessEnv = {}) => {
    const r = await runCli(args, { ...env, ...extra });
    expect(r.code, `${args.join(" ")}\n${r.stdout}\n${r.stderr}`).toBe(code);
    return r;
  };
  const withStore = async <T>(fn: (s: Awaited<ReturnType<typeof openStore>>) => Promise<T>) => {
    const s = await openStore(db);
    try {
      return await fn(s);
    } finally {
      await s.close();
    }
  };
  const filesIn = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
  let tokenA = "";
  let first: Record<string, any> = {};
  let firstDigest = "";

  beforeAll(async () => {
    cleanupCustomers(customers);
    const plans = readFileSync(path.resolve("templates/plans.yaml"), "utf8")
      .replace(/healthTimeout: \S+/, "healthTimeout: 8s")
      .replace("expiresAfter: 7d }", "expiresAfter: 7d, backups: { schedule: daily, keep: 2 } }");
    writeFileSync(plansFile, plans);
    const h = host();
    await cli(["hosts", "add", h.name, "--ssh", `${h.user}@${h.address}:${h.port}`, "--identity", h.identityFile, "--host-key", h.fingerprint, "--remote-root", h.remoteRoot, "--shared"]);
    tokenA = (await cli(["provision", "--customer-id", "bk-a", "--plan", "free", "--host", h.name, "--image", IMAGE, "--json"])).json().gatewayToken;
  });
  afterAll(() => {
    cleanupCustomers(customers);
    rmSync(tmp, { recursive: true, force: true });
  });

  it("backs up the volume into a 0600 file in a 0700 dir, recorded with its SHA-256, without the .env", async () => {
    writeData("bk-a", "echo hello >a.txt && mkdir -p sub && echo nested >sub/b.txt && dd if=/dev/urandom of=blob bs=1024 count=2048 2>/dev/null");
    firstDigest = volumeDigest("bk-a");
    const r = await cli(["backup", "bk-a", "--json"]);
    first = r.json();
    expect(first).toMatchObject({ customerId: "bk-a", host: host().name, encrypted: false });
    expect(first.path.startsWith(path.join(backupDir, "bk-a") + "/")).toBe(true);
    const file = readFileSync(first.path);
    expect(first.bytes).toBe(file.length);
    expect(first.sha256).toBe(sha(file));
    expect(statSync(first.path).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(backupDir, "bk-a")).mode & 0o777).toBe(0o700);
    expect(statSync(backupDir).mode & 0o777).toBe(0o700);
    const listing = execFileSync("tar", ["-tf", first.path], { encoding: "utf8" });
    expect(listing).toContain("./sub/b.txt");
    expect(listing).not.toContain(".env");
    expect(file.includes(Buffer.from(tokenA))).toBe(false);
    expect(containerState("bk-a").status).toBe("running");
    const row = await withStore((s) => s.backups.get(first.id));
    expect(row).toMatchObject({ status: "ok", bytes: first.bytes, sha256: first.sha256, customerId: "bk-a", trigger: "manual", retention: "plan" });
    const list = (await cli(["backups", "list", "bk-a", "--json"])).json();
    expect(list.backups.map((b: any) => b.id)).toEqual([first.id]);
    expect((await cli(["status", "bk-a", "--json"])).json().backup).toMatchObject({ schedule: "daily", last: { id: first.id }, overdue: false });
  });

  it("restores in place: the exact data is back, later files are gone, and the instance is healthy", async () => {
    writeData("bk-a", "echo changed >a.txt && echo later >later.txt && rm -f blob");
    expect(volumeDigest("bk-a")).not.toBe(firstDigest);
    const r = (await cli(["restore", "bk-a", "--backup", first.id, "--json"])).json();
    expect(r).toMatchObject({ mode: "in-place", customerId: "bk-a", backupId: first.id, status: "healthy" });
    expect(volumeDigest("bk-a")).toBe(firstDigest);
    expect(docker("exec", "cf-bk-a", "ls", "-ln", DATA)).toMatch(/1000\s+1000.*a\.txt/);
    expect(containerState("bk-a").status).toBe("running");
    expect((await cli(["status", "bk-a", "--json"])).json()).toMatchObject({ status: "healthy", live: { container: { running: true } } });
    const leftovers = readdirSync(path.join(host().remoteRoot, "instances", "bk-a")).filter((f) => f.includes("restore"));
    expect(leftovers).toEqual([]);
  });

  it("refuses a corrupted backup before touching the instance, an unknown id, and a held lease", async () => {
    const before = containerState("bk-a");
    const digest = volumeDigest("bk-a");
    const original = readFileSync(first.path);
    const bad = Buffer.from(original);
    bad[Math.floor(bad.length / 2)]! ^= 0xff;
    writeFileSync(first.path, bad);
    try {
      const r = await cli(["restore", "bk-a", "--backup", first.id], 1);
      expect(r.stderr).toMatch(/refusing to restore backup .*damaged/);
      expect(containerState("bk-a")).toEqual(before);
      expect(volumeDigest("bk-a")).toBe(digest);
      // Truncated: the same refusal.
      writeFileSync(first.path, original.subarray(0, original.length - 512));
      expect((await cli(["restore", "bk-a", "--backup", first.id], 1)).stderr).toMatch(/damaged/);
      expect(containerState("bk-a")).toEqual(before);
    } finally {
      writeFileSync(first.path, original);
    }
    expect((await cli(["restore", "bk-a", "--backup", "cmnosuchbackup"], 3)).stderr).toMatch(/no backup cmnosuchbackup/);
    const lease = await withStore((s) => s.leases.acquire({ customerId: "bk-a", owner: "test:other", ttlMs: 60_000, now: new Date(), statuses: ["healthy"] }));
    expect(lease).not.toBeNull();
    try {
      expect((await cli(["restore", "bk-a", "--backup", first.id], 4)).stderr).toMatch(/held by test:other, since .*lapses in \d+ s/);
    } finally {
      await withStore((s) => s.leases.release(lease!));
    }
    expect(containerState("bk-a")).toEqual(before);
  });

  it("puts the pre-restore data back when the restored instance is unhealthy, and records it", async () => {
    writeData("bk-a", "touch cf-unhealthy");
    const poisoned = (await cli(["backup", "bk-a", "--json"])).json();
    writeData("bk-a", "rm -f cf-unhealthy && echo current >current.txt");
    const current = volumeDigest("bk-a");
    const r = await cli(["restore", "bk-a", "--backup", poisoned.id], 1);
    expect(r.stderr).toMatch(/previous data was put back and it is running again/);
    expect(volumeDigest("bk-a")).toBe(current);
    expect(containerState("bk-a").status).toBe("running");
    const events = await withStore((s) => s.events.list({ target: "bk-a", limit: 50 }));
    expect(events.find((e) => e.action === "backup.restore" && e.outcome === "failed")?.detail).toMatch(/pre-restore data was put back/);
    expect((await cli(["status", "bk-a", "--json"])).json().status).toBe("healthy");
  });

  it("clones a backup into a new instance with its own token; another customer's backup needs --to", async () => {
    const r = (await cli(["restore", "bk-a", "--backup", first.id, "--to", "bk-clone", "--json"])).json();
    expect(r).toMatchObject({ mode: "clone", customerId: "bk-clone", status: "healthy", restoredFrom: { backupId: first.id, customerId: "bk-a" } });
    expect(r.gatewayToken).toMatch(/^[0-9a-f]{64}$/);
    expect(r.gatewayToken).not.toBe(tokenA);
    expect(volumeDigest("bk-clone")).toBe(firstDigest);
    const wrong = await cli(["restore", "bk-clone", "--backup", first.id], 2);
    expect(wrong.stderr).toMatch(/belongs to customer bk-a.*\n.*--to NEW-ID/s);
  });

  it("encrypts to CLAWFLEET_BACKUP_RECIPIENT with age, and restores with the identity file", async () => {
    const { generateX25519Identity, identityToRecipient } = await import("age-encryption");
    const identity = await generateX25519Identity();
    const keyFile = path.join(tmp, "key.txt");
    writeFileSync(keyFile, `# created by the test\n${identity}\n`, { mode: 0o600 });
    const recipient = await identityToRecipient(identity);
    const enc = (await cli(["backup", "bk-clone", "--json"], 0, { CLAWFLEET_BACKUP_RECIPIENT: recipient })).json();
    expect(enc.encrypted).toBe(true);
    const file = readFileSync(enc.path);
    expect(file.subarray(0, 21).toString()).toBe("age-encryption.org/v1");
    expect(file.includes(Buffer.from("nested"))).toBe(false);
    writeData("bk-clone", "echo drift >a.txt");
    expect((await cli(["restore", "bk-clone", "--backup", enc.id], 2)).stderr).toMatch(/CLAWFLEET_BACKUP_IDENTITY_FILE is not set/);
    await cli(["restore", "bk-clone", "--backup", enc.id], 0, { CLAWFLEET_BACKUP_IDENTITY_FILE: keyFile });
    expect(volumeDigest("bk-clone")).toBe(firstDigest);
  });

  it("a full backup disk removes the partial file, records a failure and leaves the instance running", async () => {
    writeData("bk-a", "dd if=/dev/urandom of=filler bs=1024 count=1024 2>/dev/null");
    const small = path.join(tmp, "small");
    execFileSync("mkdir", ["-p", small]);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", small]);
    } catch (err) {
      if (process.env.CI === "true") throw err;
      console.warn(`SKIPPED the disk-full case: cannot mount a small tmpfs (${(err as Error).message.split("\n")[0]})`);
      return;
    }
    try {
      const r = await cli(["backup", "bk-a"], 1, { CLAWFLEET_BACKUP_DIR: small });
      expect(r.stderr).toMatch(/disk is full/);
      expect(filesIn(path.join(small, "bk-a"))).toEqual([]);
      // The host ends its pause once it sees the client go (its TERM, or the closed stream): within seconds.
      await waitFor(() => containerState("bk-a").status === "running", 15_000);
      const rows = await withStore((s) => s.backups.list({ customerId: "bk-a" }));
      expect(rows[0]).toMatchObject({ status: "failed" });
      expect(rows[0]!.detail).toMatch(/disk is full/);
    } finally {
      execFileSync("umount", [small]);
      writeData("bk-a", "rm -f filler");
    }
  });

  it("a stream cut mid-backup leaves no file and no ok row, and the instance running", async () => {
    const h = host();
    const proxy = await delayProxy(h, 40);
    try {
      await cli(["hosts", "add", "sbx-cut", "--ssh", `${h.user}@127.0.0.1:${proxy.port}`, "--identity", h.identityFile, "--host-key", h.fingerprint, "--remote-root", h.remoteRoot, "--shared"]);
      await cli(["provision", "--customer-id", "bk-cut", "--plan", "free", "--host", "sbx-cut", "--image", IMAGE, "--json"]);
      writeData("bk-cut", "dd if=/dev/urandom of=big bs=1048576 count=96 2>/dev/null");
      const run = runCli(["backup", "bk-cut", "--json"], env);
      const dir = path.join(backupDir, "bk-cut");
      await waitFor(() => filesIn(dir).some((f) => f.endsWith(".partial") && statSync(path.join(dir, f)).size > 1_000_000), 60_000);
      proxy.kill();
      const r = await run;
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/lost|closed/);
      expect(filesIn(dir)).toEqual([]);
      const rows = await withStore((s) => s.backups.list({ customerId: "bk-cut" }));
      expect(rows.map((b) => b.status)).toEqual(["failed"]);
      // The host notices the cut on its next write and unpauses at once (the watchdog is the backstop).
      await waitFor(() => containerState("bk-cut").status === "running", 5_000);
      await waitFor(() => !readdirSync(path.join(h.remoteRoot, "instances", "bk-cut")).some((f) => f.startsWith(".backup-")), 20_000);
    } finally {
      proxy.kill();
      // Its host is gone with the proxy: take it out of the fleet so the daemon test does not wait on it.
      await withStore((s) => s.instances.update("bk-cut", { status: "destroyed", portSlot: null }));
      cleanupCustomers(["bk-cut"]);
    }
  });

  it("the daemon runs due backups, alerts once per failure episode, and says when it recovers", async () => {
    const { webhookReceiver } = await import("./health-helpers.js");
    await cli(["provision", "--customer-id", "bk-sched", "--plan", "free", "--host", host().name, "--image", IMAGE, "--json"]);
    const hook = await webhookReceiver();
    const blocked = path.join(tmp, "not-a-dir");
    writeFileSync(blocked, "a file where the backup dir should be\n");
    const { spawn } = await import("node:child_process");
    const { bin } = await import("./lifecycle-helpers.js");
    const daemon = spawn(process.execPath, [bin, "health", "daemon", "--every", "*/2 * * * * *", "--backup-retry", "1s", "--json", "--webhook", hook.url, "--no-expire"], {
      env: { ...process.env, ...env, CLAWFLEET_BACKUP_DIR: blocked },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    daemon.stdout.on("data", (d) => (out += d));
    try {
      // bk-sched has no backup yet, so it is due at once; its attempts fail while the dir is blocked.
      const failures = () => out.split("\n").filter((l) => l.includes('"type":"backups"')).flatMap((l) => JSON.parse(l).runs).filter((r: any) => r.customerId === "bk-sched" && !r.ok).length;
      await waitFor(() => failures() >= 3, 60_000);
      const failed = hook.received.filter((a) => a.kind === "backup-failed" && a.customerId === "bk-sched");
      expect(failed).toHaveLength(1);
      expect(String(failed[0]!.reason)).toMatch(/scheduled backup failed/);
      rmSync(blocked);
      await waitFor(() => hook.received.some((a) => a.kind === "backup-recovered" && a.customerId === "bk-sched"), 60_000);
    } finally {
      daemon.kill("SIGTERM");
      await new Promise((r) => daemon.once("close", r));
      await hook.close();
    }
    expect(hook.received.filter((a) => a.kind === "backup-failed" && a.customerId === "bk-sched")).toHaveLength(1);
    const scheduled = await withStore((s) => s.backups.list({ customerId: "bk-sched", statuses: ["ok"] }));
    expect(scheduled.some((b) => b.trigger === "schedule" && existsSync(b.path) && b.path.startsWith(blocked + "/"))).toBe(true);
  });

  it("prune keeps the plan's newest N; destroy keeps backups unless --purge-backups", async () => {
    await cli(["backup", "bk-a", "--json"]);
    const before = (await cli(["backups", "list", "bk-a", "--json"])).json().backups.filter((b: any) => b.status === "ok");
    expect(before.length).toBeGreaterThan(2);
    const dry = (await cli(["backups", "prune", "--dry-run", "--json"])).json();
    expect(dry.pruned.filter((b: any) => b.customerId === "bk-a")).toHaveLength(before.length - 2);
    for (const b of before) expect(existsSync(b.path)).toBe(true);
    await cli(["backups", "prune"]);
    const after = (await cli(["backups", "list", "bk-a", "--json"])).json().backups.filter((b: any) => b.status === "ok");
    expect(after.map((b: any) => b.id)).toEqual(before.slice(0, 2).map((b: any) => b.id));
    for (const b of before.slice(2)) expect(existsSync(b.path)).toBe(false);

    const kept = (await cli(["destroy", "bk-a", "--force", "--json"])).json();
    expect(kept.backups).toEqual({ kept: 2, purged: 0 });
    for (const b of after) expect(existsSync(b.path)).toBe(true);
    const purged = (await cli(["destroy", "bk-clone", "--force", "--purge-backups", "--json"])).json();
    expect(purged.backups.purged).toBeGreaterThan(0);
    expect((await cli(["backups", "list", "bk-clone", "--json"])).json().backups).toEqual([]);
  });
});
