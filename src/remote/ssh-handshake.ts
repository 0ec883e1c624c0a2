import { connect as tcpConnect, type Socket } from "node:net";
import ssh2 from "ssh2";
import type { ConnectConfig } from "ssh2";
import { ClawfleetError, HostKeyError } from "../errors.js";
import { fingerprintOf } from "./fingerprint.js";
import { HOST_KEY_FAMILIES, hostKeyFamilyOf, modernAlgorithms } from "./ssh-algorithms.js";
import type { SshAuth } from "./ssh-auth.js";
import { connectError, hostKeyMismatch, hostKeyUnpinned } from "./ssh-errors.js";
import type { SshTarget } from "./types.js";

export interface HandshakeOptions {
  pinned: string | null;
  acceptNew: boolean;
  auth: SshAuth;
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  debug?: (line: string) => void;
}

export interface Handshaken {
  client: ssh2.Client;
  /** Ours, not ssh2's: ssh2's destroy() is a no-op once end() was called, so we destroy this. */
  socket: Socket;
  fingerprint: string;
}

/**
 * Connects and authenticates. A server may hold several host keys and shows the one of the type we
 * prefer, so on a mismatch we retry without that key type: a pin of the host's RSA key then still
 * works. Every attempt checks the pin before any auth is sent; the first mismatch is what we report.
 */
export async function handshake(target: SshTarget, opts: HandshakeOptions): Promise<Handshaken> {
  let families = HOST_KEY_FAMILIES.map((_, i) => i);
  let mismatch: HostKeyError | undefined;
  for (;;) {
    try {
      return await attempt(target, opts, families);
    } catch (err) {
      const failure = err as Failure;
      if (failure.error instanceof HostKeyError && failure.family !== undefined && opts.pinned) {
        mismatch ??= failure.error;
        families = families.filter((f) => f !== failure.family);
        if (families.length > 0) continue;
      }
      throw mismatch ?? failure.error;
    }
  }
}

interface Failure {
  error: ClawfleetError;
  family?: number;
}

function attempt(target: SshTarget, opts: HandshakeOptions, families: number[]): Promise<Handshaken> {
  return new Promise<Handshaken>((resolve, reject) => {
    const client = new ssh2.Client();
    // Pipelined SFTP requests are many small writes; Nagle would hold all but the first for an RTT.
    const socket = tcpConnect({ host: target.address, port: target.port, noDelay: true });
    let fingerprint = "";
    let refusal: Failure | undefined;
    let settled = false;
    const fail = (failure: Failure) => {
      if (settled) return;
      settled = true;
      client.end();
      socket.destroy();
      reject(failure);
    };
    client.on("ready", () => {
      settled = true;
      resolve({ client, socket, fingerprint });
    });
    client.on("error", (err) => fail(refusal ?? { error: connectError(target, err, opts.connectTimeoutMs) }));
    client.on("close", () => fail(refusal ?? { error: connectError(target, new Error("connection closed during handshake"), opts.connectTimeoutMs) }));
    const verify = (key: Buffer): boolean => {
      fingerprint = fingerprintOf(key);
      refusal = checkHostKey(target, opts, fingerprint, hostKeyFamilyOf(key));
      return refusal === undefined;
    };
    client.connect({ ...config(target, opts, families, verify), sock: socket });
  });
}

function checkHostKey(target: SshTarget, opts: HandshakeOptions, actual: string, family: number): Failure | undefined {
  if (opts.pinned) return actual === opts.pinned ? undefined : { error: hostKeyMismatch(target, opts.pinned, actual), family };
  return opts.acceptNew ? undefined : { error: hostKeyUnpinned(target, actual) };
}

function config(target: SshTarget, opts: HandshakeOptions, families: number[], verify: (key: Buffer) => boolean): ConnectConfig {
  const { keepaliveIntervalMs: interval, keepaliveCountMax: count } = opts;
  let authTried = false;
  return {
    host: target.address,
    port: target.port,
    username: target.user,
    // Straight to the one method we have: skips ssh2's probing "none" request, saving a round trip.
    authHandler: (_left, _partial, next) => {
      // `false` (no more methods) is valid at runtime though @types/ssh2 omits it.
      next(authTried ? (false as never) : { ...opts.auth, username: target.user });
      authTried = true;
    },
    tryKeyboard: false,
    algorithms: modernAlgorithms(families.map((i) => HOST_KEY_FAMILIES[i]!)),
    // Runs on the raw key during kex, before NEWKEYS: a refused key means no auth request is ever sent.
    hostVerifier: verify,
    readyTimeout: opts.connectTimeoutMs,
    // ssh2 gives up after count+1 silent ticks; this spacing makes that interval*count after the last answer.
    keepaliveInterval: interval > 0 ? Math.max(1, Math.floor((interval * count) / (count + 1))) : 0,
    keepaliveCountMax: count,
    ...(opts.debug ? { debug: opts.debug } : {}),
  };
}
