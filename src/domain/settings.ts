import { InputError } from "../errors.js";
import type { PlanSpec } from "./plans.js";

/**
 * An instance's settings: the plan's `settable:` .env variables. The DB keeps the values set with
 * `config set` (non-secret by the plans.yaml rule); a variable never set takes the plan's default.
 */
export type Settings = Record<string, string>;

/** .env keys that are never set through `config set`, and what to use instead. */
export const RESERVED_KEYS: Readonly<Record<string, string>> = Object.freeze({
  OPENCLAW_GATEWAY_TOKEN: "use `clawfleet rotate-token ID` to replace the gateway token",
  ANTHROPIC_API_KEY: "pass the customer's API key with --api-key-file FILE (or --api-key-file - for stdin), never on the command line",
});

// The same characters render/helpers.ts allows in a .env (Compose v1 and v2 read them alike).
const ENV_SAFE = /^[A-Za-z0-9_.+/=:@~,-]*$/;

/** The stored JSON object, or {} when empty or unreadable. */
export function parseStoredSettings(text: string | null | undefined): Settings {
  if (!text) return {};
  try {
    const v: unknown = JSON.parse(text);
    if (!v || typeof v !== "object" || Array.isArray(v)) return {};
    return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string"));
  } catch {
    return {};
  }
}

/** The JSON the DB keeps, keys sorted; null when nothing is set. */
export function storeSettings(settings: Settings): string | null {
  const keys = Object.keys(settings).sort();
  return keys.length === 0 ? null : JSON.stringify(Object.fromEntries(keys.map((k) => [k, settings[k]])));
}

/** Why `value` cannot be `key`'s value under `spec`, or null. Never echoes the value. */
export function valueProblem(spec: PlanSpec, key: string, value: string): string | null {
  const v = spec.settable[key];
  if (!v) return `not settable in plan ${spec.name}`;
  if (!ENV_SAFE.test(value)) return "the value has characters a .env cannot carry (allowed: A-Z a-z 0-9 _ . + / = : @ ~ , -)";
  if (v.pattern !== null && !new RegExp(`^(?:${v.pattern})$`).test(value)) return `the value does not match ${v.pattern}`;
  return null;
}

/** What the .env gets: each settable variable's stored value when still valid, else its default. */
export function effectiveSettings(spec: PlanSpec, stored: Settings): Settings {
  const out: Settings = {};
  for (const [key, v] of Object.entries(spec.settable)) {
    const mine = Object.hasOwn(stored, key) ? stored[key] : undefined;
    if (mine !== undefined && valueProblem(spec, key, mine) === null) out[key] = mine;
    else if (v.default !== null) out[key] = v.default;
  }
  return out;
}

/** Stored values the plan no longer accepts (not settable, or no longer matching): they are dropped on the next render. */
export function droppedSettings(spec: PlanSpec, stored: Settings): string[] {
  return Object.entries(stored).filter(([key, value]) => valueProblem(spec, key, value) !== null).map(([key]) => key).sort();
}

/** The keys one may set in `spec`, for messages. */
export function allowedKeys(spec: PlanSpec): string {
  const keys = Object.keys(spec.settable);
  return keys.length === 0 ? `plan ${spec.name} declares no settable variables (plans.yaml \`settable:\`)` : `settable in plan ${spec.name}: ${keys.join(", ")}`;
}

/** Stored values the plan still accepts: what the DB keeps after a render under `spec`. */
export function keptSettings(spec: PlanSpec, stored: Settings): Settings {
  return Object.fromEntries(Object.entries(stored).filter(([key, value]) => valueProblem(spec, key, value) === null));
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Splits `KEY=VALUE` arguments (syntax only; checkChanges judges them). Never echoes a value. */
export function splitAssignments(args: string[]): Settings {
  const out: Settings = {};
  const problems: string[] = [];
  for (const arg of args) {
    const eq = arg.indexOf("=");
    const key = eq > 0 ? arg.slice(0, eq) : "";
    if (!NAME_RE.test(key)) problems.push(`${NAME_RE.test(arg) ? arg : "an argument"}: expected KEY=VALUE`);
    else if (Object.hasOwn(out, key)) problems.push(`${key}: given twice`);
    else out[key] = arg.slice(eq + 1);
  }
  if (problems.length > 0) throw new InputError(`config set: ${problems.join("; ")}`, "write each change as KEY=VALUE, e.g. OPENCLAW_LOG_LEVEL=debug");
  return out;
}

/**
 * Checks changes against the plan. Throws one InputError listing every problem and the allowed
 * keys. Messages name keys only: a value typed by mistake may be a secret.
 */
export function checkChanges(spec: PlanSpec, changes: Settings): Settings {
  const problems: string[] = [];
  const hints = new Set<string>();
  for (const [key, value] of Object.entries(changes)) {
    const name = NAME_RE.test(key) ? key : "a key";
    if (Object.hasOwn(RESERVED_KEYS, key)) {
      problems.push(`${key}: cannot be set with config set`);
      hints.add(RESERVED_KEYS[key]!);
      continue;
    }
    const problem = typeof value === "string" ? valueProblem(spec, key, value) : "expected a string value";
    if (problem) problems.push(`${name}: ${problem}`);
  }
  if (problems.length > 0) {
    hints.add(allowedKeys(spec));
    throw new InputError(`config set: ${problems.join("; ")}`, [...hints].join("; "));
  }
  return { ...changes };
}
