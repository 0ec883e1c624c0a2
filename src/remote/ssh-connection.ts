import type { Socket } from "node:net";
import pLimit from "p-limit";
import type { Client } from "ssh2";
import { InputError, RemoteCommandError } from "../errors.js";
import { parseFingerprint } from "./fingerprint.js";
import { resolveAuth } from "./ssh-auth.js";
import { connectionLost } from "./ssh-errors.js";
import { runExec } from "./ssh-exec.js";
import { handshake } from "./ssh-handshake.js";
import { wrapSftp, type Sftp } from "./ssh-sftp.js";
import { uploadFiles } from "./ssh-upload.js";
import type { ExecOptions, ExecResult, RemoteShell, SshTarget, UploadFile } from "./types.js";

export interface ConnectOptions {
  /** Accept and report an unknown host key when the target has no pin. A pinned key is always enforced. */
  acceptNew?: boolean;
  /** TCP connect + handshake + auth must finish within this. Default 10 s. */
  connectTimeoutMs?: number;
  /** A silent peer is declared dead keepaliveIntervalMs × keepaliveCountMax after its last answer. 0 disables. Default 5 s. */
  keepaliveIntervalMs?: number;
  /** Default 3. */
  keepaliveCountMax?: number;
  /** For an encrypted identity file; the CLI passes CLAWFLEET_SSH_PASSPHRASE (see sshEnvOptions). */
  passphrase?: string;
  /** ssh-agent socket, used when the target has no identity file. Default: SSH_AUTH_SOCK. */
  agentSocket?: string;
  /** Exec channels open at once; more wait in a queue. Default 8, below OpenSSH's MaxSessions 10 with the SFTP channel. */
  maxChannels?: number;
  /** Open the SFTP session right after connecting, in the background, so a first upload that
   *  follows an exec does not pay its 4 round trips. Default false: it costs a server process. */
  warmSftp?: boolean;
  /** ssh2 protocol debug lines, for diagnosis and tests. */
  debug?: (line: string) => void;
}

/** A live, authenticated SSH connection to one host. */
export interface SshConnection extends RemoteShell {
  /** The host key fingerprint the server presented (and that matched the pin, if any). */
  readonly fingerprint: string;
  readonly closed: boolean;
  /** Ends the connection politely. */
  close(): void;
  /** Drops the socket at once, as a network failure would; pending work fails. */
  destroy(): void;
  /** Called once when the connection ends, with the error that ended it, if any. */
  onClose(cb: (err?: Error) => void): void;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 5_000;
export const DEFAULT_KEEPALIVE_COUNT_MAX = 3;
export const DEFAULT_MAX_CHANNELS = 8;
const CLOSE_GRACE_MS = 2_000;

/**
 * Opens a connection: checks the host key against `target.hostKey` before authenticating, with
 * modern algorithms only. Throws HostKeyError, InputError (identity problems) or RemoteCommandError
 * with step "connect".
 */
export async function connectSsh(target: SshTarget, opts: ConnectOptions = {}): Promise<SshConnection> {
  const pinned = target.hostKey ? parseFingerprint(target.hostKey) : null;
  const auth = resolveAuth(target.identityFile, opts.passphrase, opts.agentSocket ?? process.env.SSH_AUTH_SOCK);
  const keepaliveCountMax = opts.keepaliveCountMax ?? DEFAULT_KEEPALIVE_COUNT_MAX;
  if (!Number.isInteger(keepaliveCountMax) || keepaliveCountMax < 1) {
    throw new InputError(`keepaliveCountMax must be a positive integer, got ${keepaliveCountMax}`);
  }
  const { client, socket, fingerprint } = await handshake(target, {
    pinned,
    acceptNew: opts.acceptNew ?? false,
    auth,
    connectTimeoutMs: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    keepaliveIntervalMs: opts.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS,
    keepaliveCountMax,
    ...(opts.debug ? { debug: opts.debug } : {}),
  });
  const connection = new Connection(client, socket, target, fingerprint, opts.maxChannels ?? DEFAULT_MAX_CHANNELS);
  if (opts.warmSftp) connection.warmSftp();
  return connection;
}

/** Options the CLI takes from the environment: the key passphrase and the agent socket. */
export function sshEnvOptions(env: NodeJS.ProcessEnv = process.env): Pick<ConnectOptions, "passphrase" | "agentSocket"> {
  const out: Pick<ConnectOptions, "passphrase" | "agentSocket"> = {};
  if (env.CLAWFLEET_SSH_PASSPHRASE !== undefined) out.passphrase = env.CLAWFLEET_SSH_PASSPHRASE;
  if (env.SSH_AUTH_SOCK) out.agentSocket = env.SSH_AUTH_SOCK;
  return out;
}

class Connection implements SshConnection {
  readonly hostName: string;
  #closed = false;
  #error: Error | undefined;
  #closeCallbacks: ((err?: Error) => void)[] = [];
  #sftp: Promise<Sftp> | undefined;
  readonly #limit: ReturnType<typeof pLimit>;

  constructor(
    private readonly client: Client,
    private readonly socket: Socket,
    private readonly target: SshTarget,
    readonly fingerprint: string,
    maxChannels: number,
  ) {
    this.hostName = target.name;
    this.#limit = pLimit(maxChannels);
    client.on("error", (err) => {
      this.#error ??= err;
    });
    client.on("close", () => this.#markClosed());
  }

  get closed(): boolean {
    return this.#closed;
  }

  exec(command: string, options?: ExecOptions): Promise<ExecResult> {
    return this.#limit(() => {
      if (this.#closed) throw connectionLost(this.target, "exec", this.#error);
      return runExec(this.client, this.target.name, command, options);
    });
  }

  async upload(files: UploadFile[]): Promise<void> {
    if (files.length === 0) return;
    const sftp = await this.#openSftp();
    const ledgerKey = `${this.target.user}@${this.target.address}:${this.target.port}`;
    await uploadFiles(sftp, this.target.name, ledgerKey, files);
  }

  close(): void {
    if (this.#closed) return;
    this.client.end();
    // A dead peer never completes the TCP close; do not let closeAll() wait on it.
    setTimeout(() => this.#closed || this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  warmSftp(): void {
    this.#openSftp().catch(() => {});
  }

  onClose(cb: (err?: Error) => void): void {
    if (this.#closed) queueMicrotask(() => cb(this.#error));
    else this.#closeCallbacks.push(cb);
  }

  /** One SFTP session per connection, opened on first use and reopened if the server closes it. */
  #openSftp(): Promise<Sftp> {
    this.#sftp ??= new Promise<Sftp>((resolve, reject) => {
      const failed = (err: unknown) => {
        this.#sftp = undefined;
        if (this.#closed) return reject(connectionLost(this.target, "upload", this.#error ?? err));
        const why = err instanceof Error ? err.message : String(err);
        const hint = "enable `Subsystem sftp internal-sftp` (or sftp-server) in the host's sshd_config";
        reject(new RemoteCommandError(this.target.name, "upload", `cannot start SFTP on ${this.target.name}: ${why}`, { hint, cause: err }));
      };
      try {
        this.client.sftp((err, sftp) => {
          if (err) return failed(err);
          sftp.on("close", () => {
            this.#sftp = undefined;
          });
          resolve(wrapSftp(sftp));
        });
      } catch (err) {
        failed(this.#error ?? err);
      }
    });
    return this.#sftp;
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sftp = undefined;
    for (const cb of this.#closeCallbacks.splice(0)) cb(this.#error);
  }
}
