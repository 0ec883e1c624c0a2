import { randomBytes } from "node:crypto";
import { posix } from "node:path";
import { InputError, RemoteCommandError } from "../errors.js";
import type { Sftp } from "./ssh-sftp.js";
import type { UploadFile } from "./types.js";

/** Temp files older than this in a target's directory are leftovers of a dead upload. */
export const STALE_TEMP_MS = 10 * 60 * 1000;
const TEMP_MARK = ".cf-tmp-";

/**
 * Temp files whose upload died with its connection, by host, so the next upload to that host in
 * this process removes them. Temps left by another process are swept by age instead.
 */
const strayTemps = new Map<string, Set<string>>();

export function tempPathFor(target: string): string {
  const { dir, base } = posix.parse(target);
  return posix.join(dir, `.${base}${TEMP_MARK}${randomBytes(6).toString("hex")}`);
}

/**
 * Uploads every file atomically and in parallel. Per file: open the 0600 temp with O_EXCL; then
 * pipeline all WRITEs, fchmod, fsync and close in one round trip; then posix-rename over the target
 * only once all of those succeeded. That is 3 round trips for any number of small files.
 */
export async function uploadFiles(sftp: Sftp, host: string, hostKey: string, files: UploadFile[]): Promise<void> {
  files.forEach(checkFile);
  const temps = files.map((f) => tempPathFor(f.path));
  const cleanup = sweep(sftp, hostKey, files, new Set(temps));
  const results = await Promise.allSettled(files.map((f, i) => uploadOne(sftp, host, hostKey, f, temps[i]!)));
  await cleanup;
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

/** Throws InputError for a relative or directory path or an invalid mode. */
export function checkFile(file: UploadFile): void {
  if (!posix.isAbsolute(file.path) || file.path.endsWith("/")) {
    throw new InputError(`upload: remote path must be an absolute file path, got "${file.path}"`);
  }
  if (!Number.isInteger(file.mode) || file.mode < 0 || file.mode > 0o7777) {
    throw new InputError(`upload: invalid mode ${file.mode} for ${file.path}`);
  }
}

async function uploadOne(sftp: Sftp, host: string, hostKey: string, file: UploadFile, temp: string): Promise<void> {
  const data = typeof file.content === "string" ? Buffer.from(file.content, "utf8") : file.content;
  let handle: Buffer;
  try {
    handle = await sftp.open(temp, "wx", 0o600);
  } catch (err) {
    throw uploadError(host, file.path, err);
  }
  try {
    const requests: Promise<void>[] = [];
    for (let pos = 0; pos < data.length; pos += sftp.maxWriteLen) {
      requests.push(sftp.write(handle, data.subarray(pos, pos + sftp.maxWriteLen), pos));
    }
    // The temp is 0600 from its creation; fchmod only ever sets the final mode on our own inode.
    requests.push(sftp.fchmod(handle, file.mode), sftp.fsync(handle));
    const closed = sftp.close(handle);
    await settleAll([...requests, closed]);
    await sftp.rename(temp, file.path);
  } catch (err) {
    await sftp.unlink(temp).catch(() => rememberStray(hostKey, temp));
    throw uploadError(host, file.path, err);
  }
}

/** Waits for every request (so none is left dangling), then throws the first failure. */
async function settleAll(requests: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(requests);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

function rememberStray(hostKey: string, temp: string): void {
  const set = strayTemps.get(hostKey) ?? new Set<string>();
  set.add(temp);
  strayTemps.set(hostKey, set);
}

/** Removes this process's stray temps for the host and stale temps of the files being uploaded. */
async function sweep(sftp: Sftp, hostKey: string, files: UploadFile[], ours: Set<string>): Promise<void> {
  const mine = [...(strayTemps.get(hostKey) ?? [])];
  strayTemps.delete(hostKey);
  const byDir = new Map<string, string[]>();
  for (const f of files) {
    const { dir, base } = posix.parse(f.path);
    byDir.set(dir, [...(byDir.get(dir) ?? []), `.${base}${TEMP_MARK}`]);
  }
  await Promise.allSettled([
    ...mine.map((temp) => sftp.unlink(temp).catch((err) => isMissing(err) || rememberStray(hostKey, temp))),
    ...[...byDir].map(([dir, prefixes]) => sweepDir(sftp, dir, prefixes, ours)),
  ]);
}

async function sweepDir(sftp: Sftp, dir: string, prefixes: string[], ours: Set<string>): Promise<void> {
  const handle = await sftp.opendir(dir);
  const entries = await sftp.readdir(handle).finally(() => sftp.close(handle).catch(() => {}));
  const staleBefore = Date.now() / 1000 - STALE_TEMP_MS / 1000;
  // Remote mtime against the local clock: a skewed host clock can only misjudge other processes' temps.
  const stale = entries
    .filter((e) => prefixes.some((p) => e.filename.startsWith(p)) && (e.attrs.mtime ?? Infinity) < staleBefore)
    .map((e) => posix.join(dir, e.filename))
    .filter((path) => !ours.has(path));
  await Promise.allSettled(stale.map((path) => sftp.unlink(path)));
}

function isMissing(err: unknown): boolean {
  return (err as { code?: number }).code === 2;
}

function uploadError(host: string, path: string, err: unknown): RemoteCommandError {
  if (err instanceof RemoteCommandError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: number }).code;
  const hint =
    code === 2 || code === 3
      ? "the parent directory must exist and be writable by the SSH user"
      : /extended request/.test(message)
        ? "the server's SFTP lacks fsync@openssh.com or posix-rename@openssh.com; use OpenSSH's sftp-server"
        : "retry; the previous file, if any, is unchanged";
  return new RemoteCommandError(host, "upload", `cannot upload ${path} to ${host}: ${message}`, { hint, cause: err });
}
