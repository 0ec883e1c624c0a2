import { randomBytes } from "node:crypto";
import path from "node:path";
import { loadPlansFor, getPlan } from "../../domain/plans.js";
import { ClawfleetError, ConflictError, RemoteCommandError } from "../../errors.js";
import { defaultBackupDir } from "../../paths.js";
import { BACKUP_EXIT, backupCommand, parseBackupTrailer } from "../../remote/commands/backup.js";
import { EXIT_LOCKED } from "../../remote/commands/lifecycle.js";
import type { BackupRecord } from "../../store/backup-types.js";
import type { HostRecord, InstanceRecord } from "../../store/types.js";
import { step } from "../events.js";
import { audit } from "../audit/record.js";
import { withInstanceLease } from "../coordination/leases/instance.js";
import { connect, messageOf, mustGetInstance } from "../instance-lookup.js";
import type { Deps } from "../ports.js";
import { checkRecipient } from "./age.js";
import { createArchive } from "./archive.js";
import { throttledProgress } from "./progress.js";

export interface BackupInput {
  customerId: string;
  /** "manual" (default) or "schedule" (the daemon). */
  trigger?: "manual" | "schedule";
  /** Never pruned by retention. */
  pin?: boolean;
  /** Pause the container while Docker copies the data to a host-side spool (default true): a consistent copy. */
  pause?: boolean;
  /** Upper bound of that pause; the backup fails instead of pausing longer. Default 60 s. */
  maxPauseSec?: number;
  plansFile?: string;
}

export interface BackupResult {
  id: string;
  customerId: string;
  host: string;
  path: string;
  bytes: number;
  sha256: string;
  /** ISO 8601: when the backup started. */
  at: string;
  encrypted: boolean;
  pausedMs: number;
  durationMs: number;
}

/** Ceiling of one backup's remote run; a lease outlives it. */
const BACKUP_TIMEOUT_MS = 6 * 3_600_000;
const SETTLED = new Set(["healthy", "unhealthy", "quarantined", "stopped"]);

/** Streams a tar of the instance's data volume into a new backup file and records it. */
export async function backupInstance(deps: Deps, input: BackupInput): Promise<BackupResult> {
  const { row, host } = await mustGetInstance(deps, input.customerId);
  if (!SETTLED.has(row.status)) throw new ConflictError(`cannot back up ${row.customerId}: its status is ${row.status}`, "finish or retry its provision first");
  const spec = getPlan(await loadPlansFor(deps, input.plansFile), row.plan, "plan");
  const raw = deps.env.CLAWFLEET_BACKUP_RECIPIENT;
  const recipient = raw ? await checkRecipient(raw) : null;
  return withInstanceLease(deps, row, "back up", () => backupLeased(deps, row, host, spec.dataPath, recipient, input));
}

function fileName(customerId: string, at: Date, encrypted: boolean): string {
  const stamp = at.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `${customerId}-${stamp}-${randomBytes(3).toString("hex")}.tar${encrypted ? ".age" : ""}`;
}

async function backupLeased(deps: Deps, row: InstanceRecord, host: HostRecord, dataPath: string, recipient: string | null, input: BackupInput): Promise<BackupResult> {
  const started = Date.now();
  const at = deps.clock.now();
  const file = path.join(defaultBackupDir(deps.env), row.customerId, fileName(row.customerId, at, recipient !== null));
  const rec = await deps.store.backups.create({
    instanceId: row.id, customerId: row.customerId, hostName: host.name, plan: row.plan, trigger: input.trigger ?? "manual",
    retention: input.pin ? "pinned" : "plan", path: file, encrypted: recipient !== null, recipient, at,
  });
  try {
    const shell = await connect(deps, host, row.customerId);
    const { info, pausedMs } = await step(deps.onEvent, "backup", { host: host.name, customerId: row.customerId, detail: (r) => `${r.info.bytes} bytes, paused ${r.pausedMs} ms` }, async () => {
      const progress = throttledProgress(deps.onEvent, "backup", host.name, row.customerId);
      const writer = await createArchive(file, { recipient, onBytes: progress });
      const abort = new AbortController();
      writer.failed.catch((err) => abort.abort(localWriteError(file, err)));
      try {
        const script = backupCommand(host.remoteRoot, row.customerId, { backupId: rec.id, dataPath, pause: input.pause ?? true, maxPauseSec: input.maxPauseSec ?? 60 });
        const res = await shell.exec(script, { stdoutSink: writer.input, timeoutMs: BACKUP_TIMEOUT_MS, signal: abort.signal });
        const trailer = parseBackupTrailer(res.stderr);
        if (res.code !== 0 || !trailer) throw remoteFailure(host, row.customerId, res.code, res.stderr, res.timedOut);
        return { info: await writer.commit(trailer.sha256), pausedMs: trailer.pausedMs };
      } catch (err) {
        await writer.abort();
        throw err;
      }
    });
    const done = await deps.store.backups.update(rec.id, { status: "ok", finishedAt: deps.clock.now(), bytes: info.bytes, sha256: info.sha256, plainSha256: info.plainSha256 });
    await audit(deps, "backup.create", row.customerId, "ok", `backup ${rec.id}: ${info.bytes} bytes${recipient ? ", encrypted" : ""}, paused ${pausedMs} ms`);
    return resultOf(done, host.name, pausedMs, Date.now() - started);
  } catch (err) {
    await deps.store.backups.update(rec.id, { status: "failed", finishedAt: deps.clock.now(), detail: messageOf(err).slice(0, 500) }).catch(() => {});
    await audit(deps, "backup.create", row.customerId, "failed", `backup ${rec.id}: ${messageOf(err).slice(0, 400)}`);
    throw err;
  }
}

function resultOf(b: BackupRecord, host: string, pausedMs: number, durationMs: number): BackupResult {
  return { id: b.id, customerId: b.customerId, host, path: b.path, bytes: b.bytes ?? 0, sha256: b.sha256 ?? "", at: b.at.toISOString(), encrypted: b.encrypted, pausedMs, durationMs };
}

function localWriteError(file: string, err: unknown): ClawfleetError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === "ENOSPC" ? "the disk is full" : messageOf(err);
  return new ClawfleetError("FAILED", `cannot write the backup to ${path.dirname(file)}: ${why}`, "free space (or point CLAWFLEET_BACKUP_DIR elsewhere) and run the backup again; the partial file was removed");
}

function remoteFailure(host: HostRecord, customerId: string, code: number | null, stderr: string, timedOut: boolean): ClawfleetError {
  if (code === EXIT_LOCKED) return new ConflictError(`instance ${customerId} is locked on ${host.name} by another clawfleet run`, "wait for it to finish, then run the backup again");
  const lastLine = stderr.trim().split("\n").filter((l) => !l.startsWith("CLAWFLEET_")).pop() ?? "";
  const why = timedOut ? "timed out" : lastLine || `exit ${code}`;
  const hint = code === BACKUP_EXIT.pauseExceeded ? "the instance is running again; back it up with --no-pause (a live copy), or raise --max-pause" : "the instance was left running; fix the cause and run the backup again";
  return new RemoteCommandError(host.name, "backup", `backup of ${customerId} on ${host.name} failed: ${why}`, { exitCode: code, stderrTail: stderr.slice(-2000), hint });
}
