import type { Client, SFTPWrapper } from "ssh2";
import { RemoteCommandError } from "../errors.js";
import { EXIT_STAGE_FAILED, stageFilesStdin, uploadScript } from "./commands/stage-files.js";
import { connectionLost } from "./ssh-errors.js";
import { wrapSftp, type Sftp } from "./ssh-sftp.js";
import { checkFile, uploadFiles } from "./ssh-upload.js";
import type { ExecOptions, ExecResult, SshTarget, TransferKind, UploadFile } from "./types.js";

/** What ssh2 says when the server refuses the subsystem request: sshd has no `Subsystem sftp`. */
const NO_SFTP = "Unable to start subsystem: sftp";

/** True only for a host without an SFTP subsystem; any other SFTP failure is a real error. */
export function isNoSftp(err: unknown): boolean {
  return err instanceof Error && err.message === NO_SFTP;
}

interface Link {
  client: Client;
  target: SshTarget;
  exec(command: string, options: ExecOptions): Promise<ExecResult>;
  /** The error that ended the connection, or undefined while it is open. */
  lost(): { error?: Error } | undefined;
}

/**
 * How one connection moves files: over its SFTP session, or, when the host has no SFTP subsystem,
 * piped over exec (stageFilesLines). That is found out once, on first use, and kept.
 */
export class FileTransfer {
  #sftp: Promise<Sftp | null> | undefined;
  #noSftp = false;

  constructor(private readonly link: Link) {}

  /** What uploads use on this connection; probes once when not known yet. */
  async kind(): Promise<TransferKind> {
    return (await this.#session()) ? "sftp" : "exec";
  }

  warm(): void {
    this.#session().catch(() => {});
  }

  async upload(files: UploadFile[]): Promise<void> {
    if (files.length === 0) return;
    const sftp = await this.#session();
    const { target } = this.link;
    if (sftp) return uploadFiles(sftp, target.name, `${target.user}@${target.address}:${target.port}`, files);
    files.forEach(checkFile);
    await uploadOverExec(this.link, files);
  }

  /** Forgets the session once the connection is gone. */
  reset(): void {
    this.#sftp = undefined;
  }

  /** One SFTP session per connection, opened on first use and reopened if the server closes it; null without SFTP. */
  #session(): Promise<Sftp | null> {
    if (this.#noSftp) return Promise.resolve(null);
    if (!this.#sftp) {
      const opening = this.#open();
      this.#sftp = opening;
      opening.catch(() => {
        if (this.#sftp === opening) this.#sftp = undefined;
      });
    }
    return this.#sftp;
  }

  #open(): Promise<Sftp | null> {
    const { client, target } = this.link;
    return new Promise<Sftp | null>((resolve, reject) => {
      const failed = (err: unknown) => {
        const lost = this.link.lost();
        if (lost) return reject(connectionLost(target, "upload", lost.error ?? err));
        if (isNoSftp(err)) {
          this.#noSftp = true;
          closeRefusedChannel(client);
          return resolve(null);
        }
        const why = err instanceof Error ? err.message : String(err);
        const hint = "enable `Subsystem sftp internal-sftp` (or sftp-server) in the host's sshd_config";
        reject(new RemoteCommandError(target.name, "upload", `cannot start SFTP on ${target.name}: ${why}`, { hint, cause: err }));
      };
      try {
        client.sftp((err, sftp) => {
          if (err) return failed(err);
          sftp.on("close", () => {
            this.#sftp = undefined;
          });
          resolve(wrapSftp(sftp));
        });
      } catch (err) {
        failed(this.link.lost()?.error ?? err);
      }
    });
  }
}

/** Base64 on stdin is ~4/3 of the bytes and read line by line by sh: allow a second per 256 KiB. */
function execUploadTimeoutMs(files: UploadFile[]): number {
  const bytes = files.reduce((n, f) => n + Buffer.byteLength(f.content), 0);
  return 60_000 + Math.ceil(bytes / (256 * 1024)) * 1000;
}

async function uploadOverExec(link: Link, files: UploadFile[]): Promise<void> {
  const host = link.target.name;
  const res = await link.exec(uploadScript(files), { stdin: stageFilesStdin(files), timeoutMs: execUploadTimeoutMs(files) });
  if (res.code === 0 && !res.timedOut) return;
  const stderr = res.stderr.trim().split("\n").slice(-3).join("; ");
  const failedPath = /^cannot write (\/.*)$/m.exec(res.stderr)?.[1];
  if (res.code === EXIT_STAGE_FAILED && failedPath) {
    throw new RemoteCommandError(host, "upload", `cannot upload ${failedPath} to ${host} (over exec, no SFTP): ${stderr}`, {
      hint: "the parent directory must exist and be writable by the SSH user; files before it in the batch are written, the rest unchanged",
    });
  }
  const why = res.timedOut ? "timed out" : `exited ${res.code ?? res.signal}`;
  throw new RemoteCommandError(host, "upload", `upload to ${host} over exec (no SFTP) ${why}: ${stderr}`, {
    hint: "the host needs a POSIX sh with base64 and mktemp; retry, the previous files are unchanged",
  });
}

/**
 * ssh2 leaves the session channel of a refused subsystem request open (the server keeps it too), so
 * it would hold one of the server's MaxSessions for the connection's life. Internals, best effort.
 */
function closeRefusedChannel(client: Client): void {
  const channels = (client as unknown as { _chanMgr?: { _channels?: Record<string, unknown> } })._chanMgr?._channels;
  for (const ch of Object.values(channels ?? {})) {
    const sftp = ch as Partial<SFTPWrapper> & { _init?: unknown; outgoing?: { state?: string }; constructor?: { name?: string } };
    // A session that became ready replaced its _init with a no-op; the refused one never did.
    const neverStarted = typeof sftp === "object" && sftp !== null && Object.hasOwn(sftp, "_init") === false;
    if (sftp?.constructor?.name === "SFTP" && neverStarted && sftp.outgoing?.state === "open") {
      try {
        sftp.end?.();
      } catch {
        // the channel is gone already
      }
    }
  }
}
