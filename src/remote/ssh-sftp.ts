import type { FileEntryWithStats, SFTPWrapper } from "ssh2";

/** Promise wrappers over the few SFTP requests we use. Each call sends its request at once. */
export interface Sftp {
  open(path: string, flags: string, mode: number): Promise<Buffer>;
  write(handle: Buffer, data: Buffer, position: number): Promise<void>;
  fchmod(handle: Buffer, mode: number): Promise<void>;
  fsync(handle: Buffer): Promise<void>;
  close(handle: Buffer): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  opendir(path: string): Promise<Buffer>;
  readdir(handle: Buffer): Promise<FileEntryWithStats[]>;
  /** Largest data length one WRITE request may carry. */
  readonly maxWriteLen: number;
}

type Cb<T> = (err: Error | null | undefined, value?: T) => void;
type Call = <T = void>(send: (cb: Cb<T>) => void) => Promise<T>;

/**
 * Sends requests on a session and settles each exactly once. ssh2 fails requests in flight when the
 * channel dies, but a request sent after that would wait forever, so those fail at once.
 */
function caller(sftp: SFTPWrapper): Call {
  let gone: Error | undefined;
  const pending = new Set<(err: Error) => void>();
  const onGone = () => {
    gone ??= new Error("SFTP session closed");
    for (const fail of pending) fail(gone);
    pending.clear();
  };
  sftp.on("end", onGone);
  sftp.on("close", onGone);
  return <T>(send: (cb: Cb<T>) => void) =>
    new Promise<T>((resolve, reject) => {
      if (gone) return reject(gone);
      pending.add(reject);
      const settle: Cb<T> = (err, value) => {
        pending.delete(reject);
        if (err) reject(err);
        else resolve(value as T);
      };
      try {
        // ssh2 throws synchronously when the channel is gone or an extension is missing.
        send(settle);
      } catch (err) {
        settle(err as Error);
      }
    });
}

/** Wraps an ssh2 SFTP session. Needs the fsync@openssh.com and posix-rename@openssh.com extensions. */
export function wrapSftp(sftp: SFTPWrapper): Sftp {
  const call = caller(sftp);
  const limit = (sftp as unknown as { _maxWriteLen?: number })._maxWriteLen;
  return {
    maxWriteLen: typeof limit === "number" && limit > 0 ? Math.min(limit, 256 * 1024) : 32 * 1024,
    open: (path, flags, mode) => call<Buffer>((cb) => sftp.open(path, flags as "wx", { mode }, cb as never)),
    write: (handle, data, position) =>
      call((cb) => sftp.write(handle, data, 0, data.length, position, cb as never)),
    fchmod: (handle, mode) => call((cb) => sftp.fchmod(handle, mode, cb as never)),
    fsync: (handle) => call((cb) => sftp.ext_openssh_fsync(handle, cb as never)),
    close: (handle) => call((cb) => sftp.close(handle, cb as never)),
    rename: (from, to) => call((cb) => sftp.ext_openssh_rename(from, to, cb as never)),
    unlink: (path) => call((cb) => sftp.unlink(path, cb as never)),
    opendir: (path) => call<Buffer>((cb) => sftp.opendir(path, cb as never)),
    readdir: (handle) => call<FileEntryWithStats[]>((cb) => sftp.readdir(handle, cb as never)),
  };
}
