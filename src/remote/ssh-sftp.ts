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

function call<T = void>(send: (cb: Cb<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      // ssh2 throws synchronously when the channel is gone or an extension is missing.
      send((err, value) => (err ? reject(err) : resolve(value as T)));
    } catch (err) {
      reject(err);
    }
  });
}

/** Wraps an ssh2 SFTP session. Needs the fsync@openssh.com and posix-rename@openssh.com extensions. */
export function wrapSftp(sftp: SFTPWrapper): Sftp {
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
