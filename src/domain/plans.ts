import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { InputError } from "../errors.js";
import { plansFileSchema, type PlansFile, type RawPlan } from "./plans-schema.js";
import { parseDuration, parseSize } from "./sizes.js";
import { packageRoot } from "../paths.js";

export { PLAN_NAME_RE } from "./plans-schema.js";

/** A plan's name as written in plans.yaml (`free`, `pro`, `enterprise` ship). */
export type PlanName = string;

export interface HealthcheckSpec {
  /** Docker's test form: ["CMD", …] or ["CMD-SHELL", "command"]. */
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

export interface PlanTemplates {
  /** Paths relative to the templates directory. */
  compose: string;
  env: string;
  provisionSh: string;
}

/** One plan with the defaults applied: everything rendering and placement need. */
export interface PlanSpec {
  name: PlanName;
  image: string;
  healthcheck: HealthcheckSpec;
  dataPath: string;
  basePort: number;
  portStep: number;
  healthTimeoutMs: number;
  /** Docker notation, e.g. "512m"; memoryBytes is the same in bytes. */
  memory: string;
  memoryBytes: number;
  cpus: number;
  pids: number;
  dedicatedHost: boolean;
  expiresAfterMs: number | null;
  backups: BackupPolicy;
  logs: { maxSize: string; maxFile: number };
  templates: PlanTemplates;
  /** Publish the slot's CDP range (base+9 … base+108). Off by default: the range stays reserved, unpublished. */
  cdpPorts: boolean;
  /** The .env variables `config set` may change, by name (defaults' and the plan's, merged). */
  settable: Record<string, SettableVar>;
}

/** One `settable:` variable. The whole value must match `pattern`; no default: unset until set. */
export interface SettableVar {
  default: string | null;
  pattern: string | null;
  description: string | null;
}

/** How often the daemon backs an instance up, and how many scheduled backups `backups prune` keeps. */
export interface BackupPolicy {
  schedule: "none" | "daily" | "weekly";
  keep: number;
}

/** Backups kept per instance when a plan does not say. */
export const DEFAULT_BACKUP_KEEP = 7;

/** Settings of the health policy state machine and the daemon's schedule. */
export interface HealthPolicyConfig {
  failureThreshold: number;
  maxRestarts: number;
  restartWindowMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  retentionMs: number;
  sweepSchedule: string;
  reportSchedule: string;
}

/** The `ingress:` section: one Caddy per host serving `https://<subdomain>.<domain>/`. */
export interface IngressConfig {
  domain: string;
  tls: "acme" | "internal";
  acmeEmail: string | null;
  image: string;
}

export interface Plans {
  /** The file the plans came from (for messages). */
  file: string;
  basePort: number;
  portStep: number;
  plans: Record<PlanName, PlanSpec>;
  health: HealthPolicyConfig;
  /** null: no ingress section, so no proxy runs. */
  ingress: IngressConfig | null;
}

const HEALTHCHECK_DEFAULTS = { interval: "5s", timeout: "3s", retries: 3, startPeriod: "10s" };
const LOGS_DEFAULTS = { maxSize: "10m", maxFile: 3 };
const HEALTH_DEFAULTS = {
  failureThreshold: 3, maxRestarts: 3, restartWindow: "1h", backoffInitial: "1m", backoffMax: "30m",
  retention: "30d", sweepSchedule: "*/5 * * * *", reportSchedule: "0 6 * * *",
};

/** The package root, from src/domain/ and from dist/domain/ alike. */
export { packageRoot };
export const defaultTemplatesDir = path.join(packageRoot, "templates");

/** `CLAWFLEET_PLANS`, else the shipped templates/plans.yaml. */
export function defaultPlansFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.CLAWFLEET_PLANS || path.join(defaultTemplatesDir, "plans.yaml");
}

/** Parses plans.yaml text. Never throws: errors are `path: message` lines. */
export function parsePlans(text: string, file = "plans.yaml"): { plans: Plans | null; errors: string[] } {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    return { plans: null, errors: doc.errors.map((e) => `yaml: ${e.message.split(" at line ")[0]?.split("\n")[0]}${lineOf(e.linePos)}`) };
  }
  const data: unknown = doc.toJS();
  const parsed = plansFileSchema.safeParse(data);
  if (!parsed.success) return { plans: null, errors: parsed.error.issues.map((i) => formatIssue(i, data)) };
  return { plans: resolvePlans(parsed.data, file), errors: [] };
}

/** Parses plans.yaml text or throws InputError listing every `path: message`. */
export function parsePlansOrThrow(text: string, file = "plans.yaml"): Plans {
  const { plans, errors } = parsePlans(text, file);
  if (!plans) throw new InputError(`${file}: invalid plans\n  ${errors.join("\n  ")}`, "fix the file, then run clawfleet validate-config");
  return plans;
}

/** plans.yaml for a caller with its own env (a use case's Deps): the given file, else its CLAWFLEET_PLANS, else the shipped one. */
export function loadPlansFor(from: { env: NodeJS.ProcessEnv }, plansFile?: string): Promise<Plans> {
  return loadPlans(plansFile ?? defaultPlansFile(from.env));
}

/** Reads and parses `file`, `CLAWFLEET_PLANS` or the shipped templates/plans.yaml. */
export async function loadPlans(file: string = defaultPlansFile()): Promise<Plans> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new InputError(`plans file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, "set --plans or CLAWFLEET_PLANS");
  }
  // A daemon loads plans once per sweep and per operation: parse again only when the text changed.
  const hit = parsed.get(file);
  if (hit?.text === text) return structuredClone(hit.plans);
  const plans = parsePlansOrThrow(text, file);
  parsed.set(file, { text, plans: structuredClone(plans) });
  return plans;
}

const parsed = new Map<string, { text: string; plans: Plans }>();

/** The named plan, or InputError naming `--plan` and the known plans. */
export function getPlan(plans: Plans, name: string, field = "--plan"): PlanSpec {
  const spec = Object.hasOwn(plans.plans, name) ? plans.plans[name] : undefined;
  if (!spec) {
    throw new InputError(`${field}: unknown plan ${JSON.stringify(name)}`, `known plans: ${Object.keys(plans.plans).join(", ")}`);
  }
  return spec;
}

function formatIssue(issue: z.core.$ZodIssue, data: unknown): string {
  const where = issue.path.length > 0 ? issue.path.join(".") : "(root)";
  if (issue.code === "unrecognized_keys") return issue.keys.map((k) => `${where}: unknown key "${k}"`).join("\n");
  if (issue.code === "invalid_type" && valueAt(data, issue.path) === undefined) return `${where}: required`;
  return `${where}: ${issue.message}`;
}

function valueAt(data: unknown, path: PropertyKey[]): unknown {
  let v = data;
  for (const key of path) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

function lineOf(linePos: { line: number; col: number }[] | undefined): string {
  return linePos?.[0] ? ` (line ${linePos[0].line}, column ${linePos[0].col})` : "";
}

const ms = (d: string) => parseDuration(d) as number;

function resolvePlans(raw: PlansFile, file: string): Plans {
  const plans: Record<string, PlanSpec> = {};
  for (const [name, p] of Object.entries(raw.plans)) plans[name] = resolvePlan(name, p, raw);
  const h = { ...HEALTH_DEFAULTS, ...raw.health };
  return {
    file,
    basePort: raw.defaults.basePort,
    portStep: raw.defaults.portStep,
    plans,
    health: {
      failureThreshold: h.failureThreshold, maxRestarts: h.maxRestarts, restartWindowMs: ms(h.restartWindow),
      backoffInitialMs: ms(h.backoffInitial), backoffMaxMs: ms(h.backoffMax), retentionMs: ms(h.retention),
      sweepSchedule: h.sweepSchedule, reportSchedule: h.reportSchedule,
    },
    ingress: raw.ingress ? { domain: raw.ingress.domain, tls: raw.ingress.tls, acmeEmail: raw.ingress.acmeEmail ?? null, image: raw.ingress.image } : null,
  };
}

function resolvePlan(name: string, p: RawPlan, raw: PlansFile): PlanSpec {
  const d = raw.defaults;
  const hc = { ...HEALTHCHECK_DEFAULTS, ...(p.healthcheck ?? d.healthcheck) };
  const logs = { ...LOGS_DEFAULTS, ...d.logs, ...p.logs };
  // Convention: compose/<plan>.yml.hbs, env.hbs and provision.sh.hbs unless plans.yaml names others.
  const templates = { compose: `compose/${name}.yml.hbs`, env: "env.hbs", provisionSh: "provision.sh.hbs", ...d.templates, ...p.templates };
  return {
    name,
    image: p.image ?? d.image,
    healthcheck: {
      test: hc.test, intervalMs: ms(hc.interval), timeoutMs: ms(hc.timeout), retries: hc.retries, startPeriodMs: ms(hc.startPeriod),
    },
    dataPath: p.dataPath ?? d.dataPath,
    basePort: d.basePort,
    portStep: d.portStep,
    healthTimeoutMs: ms(p.healthTimeout ?? d.healthTimeout),
    memory: p.memory,
    memoryBytes: parseSize(p.memory) as number,
    cpus: p.cpus,
    pids: p.pids,
    dedicatedHost: p.dedicatedHost,
    expiresAfterMs: p.expiresAfter ? ms(p.expiresAfter) : null,
    backups: backupPolicy(p.backups),
    logs,
    templates,
    cdpPorts: p.cdpPorts ?? d.cdpPorts ?? false,
    settable: Object.fromEntries(
      Object.entries({ ...d.settable, ...p.settable })
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([key, v]) => [key, { default: v.default ?? null, pattern: v.pattern ?? null, description: v.description ?? null }]),
    ),
  };
}

function backupPolicy(raw: RawPlan["backups"]): BackupPolicy {
  if (raw === undefined) return { schedule: "none", keep: DEFAULT_BACKUP_KEEP };
  if (typeof raw === "string") return { schedule: raw, keep: DEFAULT_BACKUP_KEEP };
  return { schedule: raw.schedule, keep: raw.keep ?? DEFAULT_BACKUP_KEEP };
}
