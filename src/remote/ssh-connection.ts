import type { Socket } from "node:net";
import pLimit from "p-limit";
import type { Client } from "ssh2";
import { InputError } from "../errors.js";
import { parseFingerprint } from "./fingerprint.js";
import { resolveAuth } from "./ssh-auth.js";
import { connectionLost } from "./ssh-errors.js";
import { runExec } from "./ssh-exec.js";
import { handshake } from "./ssh-handshake.js";
import { FileTransfer } from "./ssh-transfer.js";
import type { ExecOptions, ExecResult, RemoteShell, SshTarget, TransferKind, UploadFile } from "./types.js";

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
  /** "sftp", or "exec" on a host without an SFTP subsystem (found out once per connection). */
  transfer(): Promise<TransferKind>;
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
  readonly #files: FileTransfer;
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
    this.#files = new FileTransfer({
      client,
      target,
      exec: (command, options) => this.exec(command, options),
      lost: () => (this.#closed ? { error: this.#error } : undefined),
    });
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

  /** Over SFTP, or piped over exec when the host has no SFTP subsystem; atomic per file either way. */
  upload(files: UploadFile[]): Promise<void> {
    return this.#files.upload(files);
  }

  transfer(): Promise<TransferKind> {
    return this.#files.kind();
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
    this.#files.warm();
  }

  onClose(cb: (err?: Error) => void): void {
    if (this.#closed) queueMicrotask(() => cb(this.#error));
    else this.#closeCallbacks.push(cb);
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#files.reset();
    for (const cb of this.#closeCallbacks.splice(0)) cb(this.#error);
  }
}
