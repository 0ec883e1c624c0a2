import type { HelperDelegate } from "handlebars";
import { shellQuote } from "../domain/shell.js";

/** Quoting helpers for templates. Each one throws on input it cannot carry safely. */

function scalar(helper: string, value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return String(value);
  throw new TypeError(`${helper}: expected a string or number, got ${value === null ? "null" : typeof value}`);
}

/** POSIX shell single-quoting: the value is one inert word whatever it contains. */
export function shq(value: unknown): string {
  const s = scalar("shq", value);
  if (s.includes("\0")) throw new TypeError("shq: a NUL byte cannot be passed to a shell");
  return shellQuote(s);
}

/** A YAML double-quoted scalar. JSON escapes are valid YAML; non-ASCII is escaped too so no byte is ambiguous. */
export function yq(value: unknown): string {
  const json = JSON.stringify(scalar("yq", value));
  let out = "";
  for (const ch of json) {
    const cp = ch.codePointAt(0) as number;
    if (cp >= 0x20 && cp <= 0x7e) out += ch;
    else if (cp > 0xffff) out += "\\U" + cp.toString(16).padStart(8, "0");
    else out += "\\u" + cp.toString(16).padStart(4, "0");
  }
  return out;
}

/** A Compose string: `$` doubled so Compose does not interpolate it, then YAML-quoted. */
export function cq(value: unknown): string {
  return yq(scalar("cq", value).replaceAll("$", "$$$$"));
}

// Compose v1 keeps quotes in env_file values and v2 strips them, and v2 interpolates `$`,
// so only values that need no quoting at all are allowed.
export const ENV_SAFE_RE = /^[A-Za-z0-9_.+/=:@~,-]*$/;

/** A .env value, unquoted. Throws (without echoing the value: it is a secret) when it needs quoting. */
export function envv(value: unknown): string {
  const s = scalar("envv", value);
  if (!ENV_SAFE_RE.test(s) || s.length > 4096) {
    throw new TypeError("envv: value has characters .env cannot carry the same way in Compose v1 and v2 (allowed: A-Z a-z 0-9 _ . + / = : @ ~ , -)");
  }
  return s;
}

/** A finite number printed as is, for YAML numeric fields (pids_limit, cpus). */
export function num(value: unknown): string {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new TypeError(`num: expected a number, got ${typeof value}`);
  return String(value);
}

/** A Docker size like `64m`, printed as is (for tmpfs options). */
export function size(value: unknown): string {
  if (typeof value !== "string" || !/^[1-9][0-9]*[kmg]$/.test(value)) throw new TypeError(`size: expected a size like 64m, got ${JSON.stringify(value)}`);
  return value;
}

/** A Caddyfile token: only characters that need no quoting there (names, addresses, hex secrets, emails). */
export function cdy(value: unknown): string {
  const s = scalar("cdy", value);
  if (!/^[A-Za-z0-9._@:%+\/\[\]-]+$/.test(s)) throw new TypeError("cdy: value has characters a Caddyfile token cannot carry unquoted");
  return s;
}

const HELPERS: Record<string, (v: unknown) => string> = { shq, yq, cq, envv, num, size, cdy };

/** Handlebars wrappers: exactly one argument each, so `{{shq}}` is an error rather than a quoted "[object Object]". */
export const handlebarsHelpers: Record<string, HelperDelegate> = Object.fromEntries(
  Object.entries(HELPERS).map(([name, fn]) => [
    name,
    (...args: unknown[]) => {
      if (args.length !== 2) throw new TypeError(`${name} takes exactly one argument`);
      return fn(args[0]);
    },
  ]),
);
