import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { backupInstance, runDueBackups } from "../../../../src/app/backup/index.js";
import type { Alert } from "../../../../src/app/alerts.js";
import { healthReport } from "../../../../src/app/health/report.js";
import type { Deps } from "../../../../src/app/ports.js";
import type { ExecOptions } from "../../../../src/remote/types.js";
import { memoryStore } from "../../../fakes/memory-store.js";
import { RecordingShell, fakeConnector, manualClock } from "../../../fakes/recording-shell.js";

const TAR = Buffer.from("pretend this is a tar of the data volume\n".repeat(1000));
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** A host whose backup script streams TAR, or fails the way `mode` says. */
async function fixture(plan = "enterprise") {
  const store = memoryStore();
  const clock = manualClock(new Date("2026-12-02T12:00:00Z"));
  const mode = { value: "ok" as "ok" | "remote-fails" | "bad-hash" };
  const shell = new RecordingShell("h1", (command: string, o: ExecOptions) => {
    if (!command.includes("CLAWFLEET_BACKUP")) return {};
    if (mode.value === "remote-fails") return { code: 71, stderr: "docker cp of the data failed (exit 1); the host disk is full\n" };
    o.stdoutSink!.write(TAR);
    const hash = mode.value === "bad-hash" ? "0".repeat(64) : sha(TAR);
    return { code: 0, stderr: `CLAWFLEET_BACKUP sha256=${hash} paused_ms=12\n` };
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), "cf-take-"));
  const deps: Deps = { store, connector: fakeConnector(shell), clock, onEvent: () => {}, actor: "test", env: { CLAWFLEET_BACKUP_DIR: dir } };
  const host = await store.hosts.create({ name: "h1", address: "10.0.0.1", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:k", remoteRoot: "/srv/cf", shared: false, capacityMb: null, dockerOk: true });
  await store.instances.claim({ customerId: "acme", hostId: host.id, plan, image: "gw:1.0", dedicated: true, leaseOwner: "p", leaseMs: 1000, now: clock.now() });
  await store.instances.update("acme", { status: "healthy", leaseOwner: null, leaseUntil: null });
  return { store, clock, mode, shell, deps, dir };
}

describe("backupInstance", () => {
  it("streams the tar into a checked file, records an ok row and an Event", async () => {
    const f = await fixture();
    const r = await backupInstance(f.deps, { customerId: "acme" });
    expect(r).toMatchObject({ customerId: "acme", host: "h1", bytes: TAR.length, sha256: sha(TAR), pausedMs: 12, encrypted: false });
    expect(readFileSync(r.path).equals(TAR)).toBe(true);
    expect(await f.store.backups.get(r.id)).toMatchObject({ status: "ok", bytes: TAR.length, trigger: "manual" });
    expect(f.store.eventsLog.find((e) => e.action === "backup.create")?.outcome).toBe("ok");
    expect(f.shell.commands[0]!.command).toContain("docker cp");
  });

  it("a remote failure or a hash mismatch keeps no file and records the row failed", async () => {
    const f = await fixture();
    f.mode.value = "remote-fails";
    await expect(backupInstance(f.deps, { customerId: "acme" })).rejects.toThrow(/the host disk is full/);
    f.mode.value = "bad-hash";
    await expect(backupInstance(f.deps, { customerId: "acme" })).rejects.toThrow(/arrived damaged/);
    expect(readdirSync(path.join(f.dir, "acme"))).toEqual([]);
    const rows = await f.store.backups.list({ customerId: "acme" });
    expect(rows.map((b) => b.status)).toEqual(["failed", "failed"]);
    expect(f.store.eventsLog.filter((e) => e.action === "backup.create").map((e) => e.outcome)).toEqual(["failed", "failed"]);
  });

  it("refuses an instance still provisioning and a bad recipient", async () => {
    const f = await fixture();
    await f.store.instances.update("acme", { status: "provisioning" });
    await expect(backupInstance(f.deps, { customerId: "acme" })).rejects.toMatchObject({ code: "CONFLICT" });
    await f.store.instances.update("acme", { status: "healthy" });
    await expect(backupInstance({ ...f.deps, env: { ...f.deps.env, CLAWFLEET_BACKUP_RECIPIENT: "not-a-key" } }, { customerId: "acme" })).rejects.toMatchObject({ code: "INPUT" });
    expect(existsSync(path.join(f.dir, "acme"))).toBe(false);
  });
});

describe("runDueBackups (the daemon's tick)", () => {
  it("backs up a due instance once per slot, and alerts once per failure episode", async () => {
    const f = await fixture();
    const alerts: Alert[] = [];
    const tick = () => runDueBackups(f.deps, { alerts: { send: (a) => alerts.push(a) }, retryAfterMs: 60_000 });
    f.mode.value = "remote-fails";
    expect(await tick()).toMatchObject({ due: 1, ok: 0, failed: 1 });
    expect((await tick()).due).toBe(0);
    f.clock.advance(61_000);
    expect(await tick()).toMatchObject({ due: 1, failed: 1 });
    expect(alerts.map((a) => a.kind)).toEqual(["backup-failed"]);
    f.clock.advance(61_000);
    f.mode.value = "ok";
    expect(await tick()).toMatchObject({ due: 1, ok: 1 });
    expect(alerts.map((a) => a.kind)).toEqual(["backup-failed", "backup-recovered"]);
    expect((await tick()).due).toBe(0);
    const ok = await f.store.backups.list({ customerId: "acme", statuses: ["ok"] });
    expect(ok.map((b) => b.trigger)).toEqual(["schedule"]);
  });

  it("leaves plans without a schedule alone, and the report counts overdue instances", async () => {
    const none = await fixture("pro");
    expect((await runDueBackups(none.deps, { alerts: { send: () => {} } })).due).toBe(0);
    const f = await fixture();
    f.clock.advance(3 * 86_400_000);
    expect((await healthReport(f.deps)).backupsOverdue).toBe(1);
    await backupInstance(f.deps, { customerId: "acme" });
    expect((await healthReport(f.deps)).backupsOverdue).toBe(0);
    expect((await healthReport({ ...none.deps, clock: f.clock })).backupsOverdue).toBe(0);
  });
});
