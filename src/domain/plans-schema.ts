import { z } from "zod";
import { imageRefProblem } from "./images.js";
import { parseDuration, parseSize } from "./sizes.js";

/** zod schema of plans.yaml v1. Every object is strict: an unknown key is an error. */

const SIZE_MSG = "expected a size like 512m";
const DURATION_MSG = "expected a duration like 90s or 7d";

// abort: a malformed value gets one message, not one per refinement.
const size = z.string({ error: SIZE_MSG }).refine((s) => parseSize(s) !== null, { error: SIZE_MSG, abort: true });
const duration = z.string({ error: DURATION_MSG }).refine((s) => parseDuration(s) !== null, { error: DURATION_MSG, abort: true });
const wholeNumber = (min: number, max: number) =>
  z.int({ error: `expected a whole number from ${min} to ${max}` }).min(min).max(max);

const image = z.string({ error: "expected an image reference" }).superRefine((ref, ctx) => {
  const problem = imageRefProblem(ref);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const healthTest = z
  .array(z.string().min(1), { error: 'expected a list like ["CMD-SHELL", "curl -fsS …"]' })
  .min(2, { error: 'expected a list like ["CMD-SHELL", "curl -fsS …"]' })
  .refine((t) => t[0] === "CMD" || (t[0] === "CMD-SHELL" && t.length === 2), {
    error: 'must be ["CMD", arg…] or ["CMD-SHELL", "command"]',
  });

// The v1 shape is a bare list (the test); the object form also sets the probe timing.
const healthcheck = z.preprocess(
  (v) => (Array.isArray(v) ? { test: v } : v),
  z.strictObject({
    test: healthTest,
    interval: duration.optional(),
    timeout: duration.optional(),
    retries: wholeNumber(1, 100).optional(),
    startPeriod: duration.optional(),
  }),
);

const templatePath = z
  .string()
  .regex(/^(?!.*\.\.)[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*\.hbs$/, {
    error: "expected a relative path inside the templates directory, ending in .hbs",
  });

const templates = z.strictObject({
  compose: templatePath.optional(),
  env: templatePath.optional(),
  provisionSh: templatePath.optional(),
});

const logs = z.strictObject({ maxSize: size.optional(), maxFile: wholeNumber(1, 100).optional() });

const dataPath = z.string().regex(/^\/[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/, {
  error: "expected an absolute path like /home/node/.openclaw",
});

// `settable:` the .env variables `clawfleet config set` may change. Their values travel on the command
// line and are stored in the DB, so a secret is never settable.
export const SETTING_KEY_RE = /^[A-Z][A-Z0-9_]{0,63}$/;
export const SECRET_SHAPED_KEY_RE = /TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE|CREDENTIAL/;
const ENV_SAFE_VALUE_RE = /^[A-Za-z0-9_.+/=:@~,-]*$/;
const settingValue = z.union([z.string(), z.number(), z.boolean()], { error: "expected a string" }).transform(String);
const settableVar = z
  .strictObject({
    default: settingValue.optional(),
    pattern: z.string({ error: "expected a regular expression" }).optional(),
    description: z.string().optional(),
  })
  .superRefine((v, ctx) => {
    let re: RegExp | null = null;
    if (v.pattern !== undefined) {
      try {
        re = new RegExp(`^(?:${v.pattern})$`);
      } catch (err) {
        ctx.addIssue({ code: "custom", path: ["pattern"], message: `not a valid regular expression (${(err as Error).message})` });
      }
    }
    if (v.default === undefined) return;
    if (!ENV_SAFE_VALUE_RE.test(v.default)) ctx.addIssue({ code: "custom", path: ["default"], message: "has characters a .env cannot carry (allowed: A-Z a-z 0-9 _ . + / = : @ ~ , -)" });
    else if (re && !re.test(v.default)) ctx.addIssue({ code: "custom", path: ["default"], message: `does not match its pattern ${v.pattern}` });
  });
const settable = z.record(z.string(), settableVar).superRefine((vars, ctx) => {
  for (const key of Object.keys(vars)) {
    if (!SETTING_KEY_RE.test(key)) ctx.addIssue({ code: "custom", path: [key], message: "expected an environment variable name like OPENCLAW_LOG_LEVEL (A-Z, 0-9, _)" });
    else if (SECRET_SHAPED_KEY_RE.test(key)) ctx.addIssue({ code: "custom", path: [key], message: "looks like a secret; settable values travel on the command line and are stored in the DB, so secrets cannot be settable" });
  }
});

// Keys a plan may override from defaults.
const overridable = {
  image: image.optional(),
  healthcheck: healthcheck.optional(),
  dataPath: dataPath.optional(),
  healthTimeout: duration.optional(),
  logs: logs.optional(),
  templates: templates.optional(),
  // Publishing the 100-port CDP range costs Docker ~100 docker-proxy processes per container.
  cdpPorts: z.boolean({ error: "expected true or false" }).optional(),
  // Merged key by key: a plan's entry replaces the default's.
  settable: settable.optional(),
};

const defaults = z.strictObject({
  ...overridable,
  image,
  healthcheck,
  dataPath,
  healthTimeout: duration,
  basePort: wholeNumber(1024, 65000),
  // A slot spans gateway … CDP end (+108), so a narrower step would overlap the next slot.
  portStep: wholeNumber(109, 10000),
});

const memory = size.refine((s) => (parseSize(s) ?? 0) >= 6 * 1024 ** 2, { error: "must be at least 6m (Docker's minimum)" });

const schedule = z.enum(["none", "daily", "weekly"], { error: 'expected "daily", "weekly" or "none"' });
// The short form `backups: daily` is the schedule with the default keep.
const backups = z.union([schedule, z.strictObject({ schedule, keep: wholeNumber(1, 10_000).optional() })], {
  error: 'expected "daily", "weekly", "none" or { schedule: daily|weekly|none, keep: N }',
});

const plan = z.strictObject({
  ...overridable,
  memory,
  cpus: z.number({ error: "expected a number of CPUs like 0.5" }).positive().max(256),
  pids: wholeNumber(16, 1_000_000),
  dedicatedHost: z.boolean({ error: "expected true or false" }),
  expiresAfter: duration.optional(),
  backups: backups.optional(),
});

const health = z.strictObject({
  failureThreshold: wholeNumber(1, 100).optional(),
  maxRestarts: wholeNumber(1, 100).optional(),
  restartWindow: duration.optional(),
  backoffInitial: duration.optional(),
  backoffMax: duration.optional(),
  retention: duration.optional(),
  sweepSchedule: z.string().min(9).optional(),
  reportSchedule: z.string().min(9).optional(),
});

export const PLAN_NAME_RE = /^[a-z][a-z0-9-]{0,31}$/;

// A DNS name of LDH labels (1-63 each, no leading or trailing '-'), at least two labels, 253 at most.
const DNS_NAME_RE = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const EMAIL_RE = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/;

const ingress = z
  .strictObject({
    domain: z.string({ error: "expected a DNS name like clawdet.example" }).regex(DNS_NAME_RE, {
      error: "expected a lowercase DNS name like clawdet.example (labels of letters, digits and '-')",
    }),
    tls: z.enum(["acme", "internal"], { error: 'expected "acme" (Let\'s Encrypt) or "internal" (Caddy\'s local CA)' }),
    acmeEmail: z.string().regex(EMAIL_RE, { error: "expected an email address like ops@clawdet.example" }).optional(),
    image,
  })
  .superRefine((v, ctx) => {
    if (v.tls === "acme" && !v.acmeEmail) ctx.addIssue({ code: "custom", path: ["acmeEmail"], message: "required with tls: acme (Let's Encrypt sends expiry notices there)" });
  });

export const plansFileSchema = z.strictObject({
  version: z.literal(1, { error: "expected 1 (the only plans.yaml version)" }),
  defaults,
  plans: z
    .record(z.string().regex(PLAN_NAME_RE, { error: "plan names are lowercase letters, digits and '-'" }), plan)
    .refine((p) => Object.keys(p).length > 0, { error: "expected at least one plan" }),
  health: health.optional(),
  ingress: ingress.optional(),
});

export type PlansFile = z.infer<typeof plansFileSchema>;
export type RawPlan = PlansFile["plans"][string];
