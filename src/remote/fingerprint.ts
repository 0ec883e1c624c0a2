import { createHash } from "node:crypto";
import { InputError } from "../errors.js";

const FINGERPRINT_RE = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** "SHA256:<base64, no padding>" of a raw SSH public key blob, exactly as `ssh-keygen -lf` prints it. */
export function fingerprintOf(rawKey: Buffer): string {
  const digest = createHash("sha256").update(rawKey).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}

/** Checks a pinned host-key fingerprint as given to `--host-key`; returns it trimmed. */
export function parseFingerprint(input: string): string {
  const value = input.trim();
  if (FINGERPRINT_RE.test(value)) return value;
  const shown = value.length > 60 ? `${value.slice(0, 60)}…` : value;
  throw new InputError(
    `--host-key: expected a SHA256 fingerprint like SHA256:<43 base64 characters>, got "${shown}"`,
    "get it from a trusted network with: ssh-keyscan -p PORT HOST | ssh-keygen -lf -",
  );
}

export interface SshSpec {
  user: string;
  address: string;
  port: number;
}

const SPEC_HINT = "expected USER@ADDRESS[:PORT], e.g. deploy@203.0.113.7:22 or deploy@[2001:db8::1]:2222";

/** Parses `--ssh USER@ADDR[:PORT]`; IPv6 addresses go in brackets when a port follows. */
export function parseSshSpec(input: string, flag = "--ssh"): SshSpec {
  const spec = input.trim();
  const fail = (why: string): never => {
    throw new InputError(`${flag}: ${why} in "${spec}"`, SPEC_HINT);
  };
  const at = spec.lastIndexOf("@");
  if (at <= 0) fail("missing USER@");
  const user = spec.slice(0, at);
  if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(user) || user.length > 32) fail(`invalid user "${user}"`);
  const rest = spec.slice(at + 1);
  const { address, portText } = rest.startsWith("[") ? splitBracketed(rest, fail) : splitPlain(rest, fail);
  if (address === "") fail("missing address");
  if (!/^[A-Za-z0-9.:%-]+$/.test(address) || address.startsWith("-")) fail(`invalid address "${address}"`);
  return { user, address, port: portText === undefined ? 22 : parsePort(portText, fail) };
}

type Fail = (why: string) => never;

function splitBracketed(rest: string, fail: Fail): { address: string; portText?: string } {
  const close = rest.indexOf("]");
  if (close < 0) fail("unclosed [ in IPv6 address");
  const address = rest.slice(1, close);
  if (!address.includes(":")) fail(`"${address}" in brackets is not an IPv6 address`);
  const after = rest.slice(close + 1);
  if (after === "") return { address };
  if (!after.startsWith(":")) fail(`unexpected "${after}" after ]`);
  return { address, portText: after.slice(1) };
}

function splitPlain(rest: string, fail: Fail): { address: string; portText?: string } {
  const colons = rest.split(":").length - 1;
  if (colons > 1) fail("IPv6 addresses must be written in brackets, like [2001:db8::1]");
  if (colons === 0) return { address: rest };
  const i = rest.indexOf(":");
  return { address: rest.slice(0, i), portText: rest.slice(i + 1) };
}

function parsePort(text: string, fail: Fail): number {
  if (!/^\d{1,5}$/.test(text)) fail(`invalid port "${text}"`);
  const port = Number(text);
  if (port < 1 || port > 65535) fail(`port ${port} is out of range 1-65535`);
  return port;
}
