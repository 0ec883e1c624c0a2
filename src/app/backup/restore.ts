import { Transform } from "node:stream";
import { toSeconds } from "../../domain/sizes.js";
import { portsForSlot } from "../../domain/ports.js";
import { loadPlansFor, getPlan } from "../../domain/plans.js";
import { ClawfleetError, ConflictError, InputError, NotFoundError, RemoteCommandError } from "../../errors.js";
import { BACKUP_EXIT, dropStagedCommand, restoreCommand, stageRestoreCommand } from "../../remote/commands/backup.js";
import { EXIT_LOCKED } from "../../remote/commands/lifecycle.js";
import type { BackupRecord } from "../../store/backup-types.js";
import type { HostRecord, InstanceRecord } from "../../store/types.js";
import { step } from "../events.js";
import { audit } from "../audit/record.js";
import { withInstanceLease } from "../coordination/leases/instance.js";
import { connect, mustGetInstance } from "../instance-lookup.js";
import type { Deps } from "../ports.js";
import { loadIdentity } from "./age.js";
import { hashFile, openPlain } from "./archive.js";
import { throttledProgress } from "./progress.js";

export interface RestoreOutcome {
  customerId: string;
  host: string;
  backupId: string;
  status: "healthy";
  durationMs: number;
}

/** An ok backup row, its file present and matching its SHA-256; exit 3 for unknown ids. */
export async function verifiedBackup(deps: Deps, backupId: string, known?: BackupRecord | null): Promise<{ backup: BackupRecord; identity: string | null }> {
  const backup = known === undefined ? await deps.store.backups.get(backupId) : known;
  if (!backup) throw new NotFoundError(`no backup ${backupId}`, "see the backups with `clawfleet backups list`");
  if (backup.status === "pruned" || backup.status === "purged") throw new NotFoundError(`backup ${backupId} was ${backup.status}; its file is gone`, "pick another with `clawfleet backups list`");
  if (backup.status !== "ok") throw new InputError(`backup ${backupId} is ${backup.status}, not a complete backup`, "pick an ok one with `clawfleet backups list`");
  const identity = backup.encrypted ? await loadIdentity(deps.env) : null;
  await step(deps.onEvent, "verify", { customerId: backup.customerId, detail: () => "SHA-256 matches" }, async () => {
    let found: { sha256: string; bytes: number };
    try {
      found = await hashFile(backup.path);
    } catch (err) {
      throw refused(backup, `its file ${backup.path} cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
    if (found.sha256 !== backup.sha256 || found.bytes !== backup.bytes) throw refused(backup, `its file is damaged: SHA-256 ${found.sha256}, ${found.bytes} bytes; recorded ${backup.sha256}, ${backup.bytes} bytes`);
  });
  return { backup, identity };
}

function refused(b: BackupRecord, why: string): ClawfleetError {
  return new ClawfleetError("FAILED", `refusing to restore backup ${b.id}: ${why}`, "nothing was changed; restore another backup (`clawfleet backups list`)");
}

/** In place: verify, stage on the host, swap the volume, health-gate; the old data comes back when unhealthy. */
export async function restoreInPlace(deps: Deps, customerId: string, backupId: string, opts: { plansFile?: string; allowOtherCustomer?: boolean } = {}): Promise<RestoreOutcome> {
  const { row, host } = await mustGetInstance(deps, customerId);
  const backup0 = await deps.store.backups.get(backupId);
  if (backup0 && backup0.customerId !== row.customerId && !opts.allowOtherCustomer) {
    throw new InputError(`backup ${backupId} belongs to customer ${backup0.customerId}, not ${row.customerId}`, `restore it into a new instance with \`clawfleet restore ${backup0.customerId} --backup ${backupId} --to NEW-ID\``);
  }
  if (row.status === "provisioning" || row.status === "failed") throw new ConflictError(`cannot restore ${row.customerId}: its status is ${row.status}`, "finish or retry its provision first");
  const { backup, identity } = await verifiedBackup(deps, backupId, backup0);
  const plans = await loadPlansFor(deps, opts.plansFile);
  const spec = getPlan(plans, row.plan, "plan");
  const gatewayPort = portsForSlot(row.portSlot ?? 0, plans.basePort, plans.portStep).gateway;
  const timeoutSec = toSeconds(spec.healthTimeoutMs);
  return withInstanceLease(deps, row, "restore", async () => {
    const started = Date.now();
    const shell = await connect(deps, host, row.customerId);
    try {
      await stage(deps, shell, host, row, backup, identity);
      const res = await step(deps.onEvent, "restore", { host: host.name, customerId: row.customerId }, () =>
        shell.exec(restoreCommand(host.remoteRoot, row.customerId, { backupId: backup.id, dataPath: spec.dataPath, gatewayPort, healthTimeoutSec: timeoutSec }), { timeoutMs: 2 * timeoutSec * 1000 + 30 * 60_000 }),
      );
      await settle(deps, host, row, backup, res.code, res.stdout, res.stderr);
    } catch (err) {
      await shell.exec(dropStagedCommand(host.remoteRoot, row.customerId, backup.id), { timeoutMs: 30_000 }).catch(() => {});
      throw err;
    }
    return { customerId: row.customerId, host: host.name, backupId: backup.id, status: "healthy", durationMs: Date.now() - started };
  });
}

async function stage(deps: Deps, shell: Awaited<ReturnType<typeof connect>>, host: HostRecord, row: InstanceRecord, backup: BackupRecord, identity: string | null): Promise<void> {
  await step(deps.onEvent, "stage", { host: host.name, customerId: row.customerId, detail: () => "backup on the host, checksum verified" }, async () => {
    const plain = await openPlain(backup.path, identity);
    let streamError: unknown;
    plain.on("error", (err) => (streamError ??= err));
    const progress = throttledProgress(deps.onEvent, "stage", host.name, row.customerId);
    let sent = 0;
    const counted = plain.pipe(new Transform({ transform: (c: Buffer, _e, cb) => (progress((sent += c.length)), cb(null, c)) }));
    const res = await shell.exec(stageRestoreCommand(host.remoteRoot, row.customerId, backup.id, backup.plainSha256 ?? backup.sha256 ?? ""), { stdinStream: counted, timeoutMs: 6 * 3_600_000 });
    if (streamError) throw refused(backup, `it cannot be decrypted (${(streamError as Error).message})`);
    if (res.code === BACKUP_EXIT.checksum) throw refused(backup, "its content does not match its recorded SHA-256 (damaged, or the wrong key)");
    if (res.code !== 0) throw new RemoteCommandError(host.name, "stage", `cannot stage backup ${backup.id} on ${host.name}: ${lastLine(res.stderr) || `exit ${res.code}`}`, { exitCode: res.code, stderrTail: res.stderr.slice(-2000), hint: "the instance was not touched" });
  });
}

async function settle(deps: Deps, host: HostRecord, row: InstanceRecord, backup: BackupRecord, code: number | null, stdout: string, stderr: string): Promise<void> {
  const target = row.customerId;
  if (code === 0) {
    await deps.store.instances.update(target, { status: "healthy", statusReason: null, consecutiveFailures: 0 });
    await audit(deps, "backup.restore", target, "ok", `restored backup ${backup.id} (taken ${backup.at.toISOString()} from ${backup.customerId})`);
    return;
  }
  if (code === EXIT_LOCKED) throw new ConflictError(`instance ${target} is locked on ${host.name} by another clawfleet run`, "wait for it to finish, then restore again");
  const fail = (message: string, hint: string) => new RemoteCommandError(host.name, "restore", message, { exitCode: code, stderrTail: stderr.slice(-2000), hint });
  if (code === BACKUP_EXIT.rolledBack) {
    await deps.store.instances.update(target, { status: "healthy", statusReason: null });
    await audit(deps, "backup.restore", target, "failed", `backup ${backup.id} did not come up healthy; the pre-restore data was put back and is running`);
    throw fail(`restore of backup ${backup.id} into ${target}: the instance was not healthy with it, so its previous data was put back and it is running again`, `see \`clawfleet logs ${target} --tail 100\`; the backup itself is unchanged`);
  }
  if (code === BACKUP_EXIT.rollbackFailed) {
    const kept = /^kept=(.+)$/m.exec(stdout)?.[1] ?? "(unknown)";
    await deps.store.instances.update(target, { status: "unhealthy", statusReason: `restore of ${backup.id} and its rollback failed` });
    await audit(deps, "backup.restore", target, "failed", `backup ${backup.id} and the rollback both failed; pre-restore data kept at ${kept} on ${host.name}`);
    throw fail(`restore of backup ${backup.id} into ${target} failed, and so did putting the previous data back`, `the previous data is kept on ${host.name} at ${kept}; see \`clawfleet logs ${target}\``);
  }
  await audit(deps, "backup.restore", target, "failed", `backup ${backup.id}: ${lastLine(stderr) || `exit ${code}`}`);
  throw fail(`restore of backup ${backup.id} into ${target} failed: ${lastLine(stderr) || `exit ${code}`}`, code === BACKUP_EXIT.saveFailed ? "nothing was changed; free disk space on the host" : "check the instance with `clawfleet status`");
}

function lastLine(text: string): string {
  return text.trim().split("\n").filter((l) => l && !l.startsWith("CLAWFLEET_")).pop() ?? "";
}
