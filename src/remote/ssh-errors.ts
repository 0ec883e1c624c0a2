import { ClawfleetError, HostKeyError, RemoteCommandError } from "../errors.js";
import type { SshTarget } from "./types.js";

type SshLowLevelError = Error & { code?: string | number; level?: string };

const NET_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by peer",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  ENOTFOUND: "address not found in DNS",
  EAI_AGAIN: "DNS lookup failed",
  EADDRNOTAVAIL: "address not available",
};

function where(target: SshTarget): string {
  const address = target.address.includes(":") ? `[${target.address}]` : target.address;
  return `${target.name} at ${address}:${target.port}`;
}

/** The error thrown when the presented host key is not the pinned one. */
export function hostKeyMismatch(target: SshTarget, expected: string, actual: string): HostKeyError {
  return new HostKeyError(
    target.name,
    `host key of ${where(target)} does not match its pin: expected ${expected}, got ${actual}`,
    {
      expected,
      actual,
      hint: `this may be an attack; if the host was rebuilt deliberately, run: clawfleet hosts rekey ${target.name} --host-key ${actual}`,
    },
  );
}

/** The error thrown on first contact with no pin and no --accept-new. */
export function hostKeyUnpinned(target: SshTarget, actual: string): HostKeyError {
  return new HostKeyError(target.name, `host ${where(target)} has no pinned host key; it presented ${actual}`, {
    actual,
    hint: `verify it out of band, then run: clawfleet hosts rekey ${target.name} --host-key ${actual} (or pass --accept-new)`,
  });
}

/** Maps an ssh2/net error raised while connecting to one clear line with a hint. */
export function connectError(target: SshTarget, err: unknown, timeoutMs: number): ClawfleetError {
  if (err instanceof ClawfleetError) return err;
  const e = err as SshLowLevelError;
  const fail = (message: string, hint: string) =>
    new RemoteCommandError(target.name, "connect", message, { hint, cause: err });
  const netReason = typeof e.code === "string" ? NET_REASONS[e.code] : undefined;
  if (netReason) {
    return fail(`cannot reach ${where(target)}: ${netReason}`, `check the address and that sshd listens there: ssh -p ${target.port} ${target.user}@${target.address}`);
  }
  if (e.level === "client-timeout" || /timed out/i.test(e.message)) {
    return fail(`cannot reach ${where(target)}: no SSH handshake within ${timeoutMs / 1000}s`, "check firewalls and that sshd is up; a larger connect timeout helps only on very slow links");
  }
  if (e.level === "client-authentication") {
    return fail(`authentication failed for ${target.user}@${target.address} (${target.name})`, `check that the identity's public key is in ~${target.user}/.ssh/authorized_keys on the host, or that ssh-agent holds it`);
  }
  if (e.level === "handshake" || /handshake|no matching/i.test(e.message)) {
    return fail(`SSH handshake with ${where(target)} failed: ${e.message}`, "the server must offer curve25519 kex, ed25519/ecdsa/rsa-sha2 host keys, chacha20-poly1305 or aes-gcm ciphers and etm MACs; upgrade its OpenSSH or sshd_config");
  }
  return fail(`SSH connection to ${where(target)} failed: ${e.message}`, "retry; if it persists, try plain ssh to the host to see more");
}

/** The error that pending work gets when the connection drops under it. */
export function connectionLost(target: SshTarget, step: string, cause?: unknown): RemoteCommandError {
  const why = cause instanceof Error ? `: ${cause.message}` : "";
  return new RemoteCommandError(target.name, step, `SSH connection to ${where(target)} was lost${why}`, {
    hint: "retry; a fresh connection is opened automatically",
    cause,
  });
}
