import { connectSsh, type ConnectOptions, type SshConnection } from "./ssh-connection.js";
import type { SshTarget } from "./types.js";

export interface SshPoolOptions extends ConnectOptions {
  /** How to open a connection; tests pass a fake. Default connectSsh. */
  connect?: (target: SshTarget, opts: ConnectOptions) => Promise<SshConnection>;
}

interface Entry {
  signature: string;
  connection: Promise<SshConnection>;
}

/**
 * One connection per host name, reused within the process. Concurrent `get`s share one in-flight
 * connect; a connection that closes or fails is dropped, so the next `get` reconnects. Channels per
 * connection are bounded by `maxChannels` (default 8), with further execs queued.
 */
export class SshPool {
  readonly #entries = new Map<string, Entry>();
  readonly #options: ConnectOptions;
  readonly #connect: NonNullable<SshPoolOptions["connect"]>;

  constructor(options: SshPoolOptions = {}) {
    const { connect, ...rest } = options;
    this.#options = rest;
    this.#connect = connect ?? connectSsh;
  }

  /** The live connection to `target.name`, opening one if needed. A changed address, user, key or pin reconnects. */
  get(target: SshTarget): Promise<SshConnection> {
    const signature = signatureOf(target);
    const entry = this.#entries.get(target.name);
    if (entry?.signature === signature) return entry.connection;
    if (entry) this.#drop(target.name, entry);
    const fresh = { signature } as Entry;
    fresh.connection = this.#open(target, fresh);
    this.#entries.set(target.name, fresh);
    return fresh.connection;
  }

  /** Closes and forgets the connection to one host (after a rekey, say); the next `get` reconnects. */
  drop(hostName: string): void {
    const entry = this.#entries.get(hostName);
    if (entry) this.#drop(hostName, entry);
  }

  /** Host names with a live or in-flight connection. */
  get hostNames(): string[] {
    return [...this.#entries.keys()];
  }

  /** Closes every connection, including ones still connecting, and waits until they are closed. */
  async closeAll(): Promise<void> {
    const entries = [...this.#entries];
    this.#entries.clear();
    await Promise.all(entries.map(([, entry]) => closeEntry(entry)));
  }

  async #open(target: SshTarget, entry: Entry): Promise<SshConnection> {
    const forget = () => {
      if (this.#entries.get(target.name) === entry) this.#entries.delete(target.name);
    };
    let connection: SshConnection;
    try {
      connection = await this.#connect(target, this.#options);
    } catch (err) {
      forget();
      throw err;
    }
    connection.onClose(forget);
    return connection;
  }

  #drop(name: string, entry: Entry): void {
    this.#entries.delete(name);
    void closeEntry(entry);
  }
}

function closeEntry(entry: Entry): Promise<void> {
  return entry.connection.then(
    (c) =>
      new Promise<void>((resolve) => {
        c.onClose(() => resolve());
        c.close();
      }),
    () => undefined,
  );
}

function signatureOf(t: SshTarget): string {
  return JSON.stringify([t.address, t.port, t.user, t.identityFile ?? null, t.hostKey ?? null]);
}
