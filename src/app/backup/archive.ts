import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { chmod, mkdir, open, rename, rm, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { PassThrough, Readable, Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ClawfleetError } from "../../errors.js";
import { ageDecrypt, ageEncrypt } from "./age.js";

export interface ArchiveInfo {
  /** The file as stored. */
  bytes: number;
  sha256: string;
  /** The tar stream as received (equal to the file unless encrypted). */
  plainBytes: number;
  plainSha256: string;
}

export interface ArchiveWriter {
  /** Where the tar stream goes (backpressure applies). */
  readonly input: Writable;
  /** Rejects as soon as writing fails (a full disk, say). */
  readonly failed: Promise<never>;
  /** Ends the input, fsyncs, checks the stream's SHA-256 against the host's, then renames the file into place. */
  commit(expectedPlainSha256: string): Promise<ArchiveInfo>;
  /** Stops and removes the partial file; safe at any time. */
  abort(): Promise<void>;
}

const SYNC_EVERY = 32 * 1024 * 1024;

/** Creates `dir` 0700 (tightening it if it exists). */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** A counting, hashing pass-through. */
function hasher(onBytes?: (total: number) => void) {
  const hash = createHash("sha256");
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes?.(bytes);
      cb(null, chunk);
    },
  });
  return { stream, result: () => ({ bytes, sha256: hash.digest("hex") }) };
}

/**
 * Writes a backup to `<finalPath>.partial`, created 0600 with O_EXCL, optionally age-encrypted to
 * `recipient`. The final name appears only after commit() has checked the hash and fsynced the file.
 */
export async function createArchive(finalPath: string, opts: { recipient?: string | null; onBytes?: (n: number) => void } = {}): Promise<ArchiveWriter> {
  await ensurePrivateDir(path.dirname(finalPath));
  const partial = `${finalPath}.partial`;
  const fh: FileHandle = await open(partial, "wx", 0o600);
  // Flushing as we go spreads the final fsync's cost over the transfer.
  let syncing = false;
  let syncedAt = 0;
  const syncer = (n: number) => {
    if (syncing || n - syncedAt < SYNC_EVERY) return;
    syncing = true;
    syncedAt = n;
    fh.datasync().catch(() => {}).finally(() => (syncing = false));
  };
  const input = new PassThrough({ highWaterMark: 1 << 20 });
  // Writes after an abort (the SSH channel's last chunks) must not crash the process.
  input.on("error", () => {});
  const plain = hasher((n) => (opts.onBytes?.(n), syncer(n)));
  // Unencrypted, the file is the stream: one hash serves both.
  const file = opts.recipient ? hasher() : null;
  // flush: fsync before the stream closes the file, so a renamed backup is on disk.
  const out = fh.createWriteStream({ flush: true, highWaterMark: 1 << 20 });
  const hashed = input.pipe(plain.stream);
  const done = file ? pipeline(await ageEncrypt(hashed, opts.recipient!), file.stream, out) : pipeline(hashed, out);
  let aborted = false;
  const failed = done.then(() => new Promise<never>(() => {}));
  failed.catch(() => {});
  return {
    input,
    failed,
    async commit(expected) {
      input.end();
      await done;
      const p = plain.result();
      const f = file?.result() ?? p;
      if (p.sha256 !== expected) throw damaged(`the stream's SHA-256 ${p.sha256} is not the host's ${expected}`);
      await rename(partial, finalPath);
      await syncDir(path.dirname(finalPath));
      return { bytes: f.bytes, sha256: f.sha256, plainBytes: p.bytes, plainSha256: p.sha256 };
    },
    async abort() {
      if (aborted) return;
      aborted = true;
      for (const st of [input, plain.stream, file?.stream]) st?.destroy();
      out.destroy(new Error("backup aborted"));
      await done.catch(() => {});
      await fh.close().catch(() => {});
      await rm(partial, { force: true });
    },
  };
}

function damaged(why: string): ClawfleetError {
  return new ClawfleetError("FAILED", `the backup arrived damaged: ${why}`, "nothing was kept; run the backup again");
}

export async function hashFile(file: string): Promise<{ bytes: number; sha256: string }> {
  return hashStream(createReadStream(file, { highWaterMark: 1 << 20 }));
}

/** SHA-256 and length of a whole stream; its errors (a failed decryption) reject. */
export async function hashStream(stream: NodeJS.ReadableStream): Promise<{ bytes: number; sha256: string }> {
  const h = hasher();
  await pipeline(stream, h.stream, new PassThrough().resume());
  return h.result();
}

async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** The backup's tar stream: the file as is, or decrypted with `identity`. Decryption errors surface as stream errors. */
export async function openPlain(file: string, identity: string | null): Promise<Readable> {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  if (identity === null) return raw;
  return Readable.from(await ageDecrypt(raw, identity));
}
