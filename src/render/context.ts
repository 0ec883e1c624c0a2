import { createHash } from "node:crypto";
import { z } from "zod";
import { InputError } from "../errors.js";
import { CUSTOMER_ID_RE, dataVolumeName, projectName } from "../domain/ids.js";
import { imageRefProblem } from "../domain/images.js";
import { PLAN_NAME_RE, type PlanName, type PlanSpec } from "../domain/plans.js";
import { CONTAINER_PORTS, type PortSet } from "../domain/ports.js";
import { GATEWAY_TOKEN_RE } from "../domain/secrets.js";
import { imageRegistry } from "./image-registry.js";
import { goDuration, toSeconds } from "../domain/sizes.js";
import { SETTING_KEY_RE } from "../domain/plans-schema.js";
import { RESERVED_KEYS } from "../domain/settings.js";
import { ENV_SAFE_RE } from "./helpers.js";

/** Everything one instance's files are rendered from. */
export interface InstanceContext {
  customerId: string;
  plan: PlanName;
  /** The plan with defaults applied (from loadPlans/parsePlans). */
  planSpec: PlanSpec;
  /** Pinned image; usually planSpec.image, or the `--image` override. */
  image: string;
  ports: PortSet;
  /** Secret: goes to .env only. */
  gatewayToken: string;
  /** Secret: goes to .env only, as ANTHROPIC_API_KEY. */
  apiKey?: string | null;
  /** Remote absolute dir, `<remoteRoot>/instances/<customerId>`. */
  instanceDir: string;
  remoteRoot: string;
  /** Set when the instance has a public site: what provision.sh needs to run the proxy (no secrets). */
  ingress?: ProvisionIngressView | null;
  /** The plan's settable .env variables with their effective values (non-secret; see domain/settings.ts). */
  settings?: Record<string, string>;
}

export interface ProvisionIngressView {
  proxyDir: string;
  project: string;
  siteHost: string;
  /** "" binds every address. */
  address: string;
  socketInContainer: string;
}

const port = z.int().min(1).max(65535);
const remotePath = z.string().regex(/^\/(?:[A-Za-z0-9._-]+\/?)*$/, { error: "expected an absolute path of letters, digits, . _ - and /" })
  .refine((p) => !p.split("/").includes(".."), { error: "must not contain .." });

const contextSchema = z.object({
  customerId: z.string().regex(CUSTOMER_ID_RE, { error: "not a valid customer id" }),
  plan: z.string().regex(PLAN_NAME_RE, { error: "not a valid plan name" }),
  planSpec: z.object({ name: z.string() }).loose(),
  image: z.string().superRefine((ref, ctx) => {
    const problem = imageRefProblem(ref);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
  ports: z.object({ gateway: port, bridge: port, browser: port, cdpStart: port, cdpEnd: port }),
  // Messages never echo these two: they are secrets.
  gatewayToken: z.string().regex(GATEWAY_TOKEN_RE, { error: "expected 64 lowercase hex characters" }),
  apiKey: z.string().min(1, { error: "must not be empty" }).nullish(),
  instanceDir: remotePath,
  remoteRoot: remotePath,
  settings: z
    .record(
      z.string().regex(SETTING_KEY_RE, { error: "expected an environment variable name" }).refine((k) => !Object.hasOwn(RESERVED_KEYS, k), { error: "is reserved" }),
      z.string().regex(ENV_SAFE_RE, { error: "has characters a .env cannot carry" }),
    )
    .optional(),
});

/** Checks a context at the edge of rendering; throws InputError with `path: message` lines. */
export function checkInstanceContext(ctx: InstanceContext): void {
  const errors: string[] = [];
  const parsed = contextSchema.safeParse(ctx);
  if (!parsed.success) for (const i of parsed.error.issues) errors.push(`${i.path.join(".") || "(root)"}: ${i.message}`);
  if (ctx.planSpec?.name !== ctx.plan) errors.push(`plan: ${JSON.stringify(ctx.plan)} does not match planSpec.name`);
  const expectedDir = `${ctx.remoteRoot?.replace(/\/+$/, "")}/instances/${ctx.customerId}`;
  if (parsed.success && ctx.instanceDir !== expectedDir) errors.push(`instanceDir: expected ${expectedDir}`);
  const p = ctx.ports;
  if (p && (p.bridge !== p.gateway + 1 || p.browser !== p.gateway + 2 || p.cdpEnd - p.cdpStart !== CONTAINER_PORTS.cdpEnd - CONTAINER_PORTS.cdpStart)) {
    errors.push("ports: expected bridge = gateway+1, browser = gateway+2 and a CDP range of 100 (see portsForSlot)");
  }
  if (errors.length > 0) throw new InputError(`invalid instance context:\n  ${errors.join("\n  ")}`);
}

/** The non-secret view that compose and provision.sh templates see. */
export function publicView(ctx: InstanceContext, configHash: string) {
  const s = ctx.planSpec;
  const hc = s.healthcheck;
  return {
    customerId: ctx.customerId,
    plan: ctx.plan,
    project: projectName(ctx.customerId),
    containerName: projectName(ctx.customerId),
    volumeName: dataVolumeName(ctx.customerId),
    image: ctx.image,
    imageRegistry: imageRegistry(ctx.image),
    configHash,
    dataPath: s.dataPath,
    memory: s.memory,
    cpus: s.cpus,
    pids: s.pids,
    dedicatedHost: s.dedicatedHost,
    backups: s.backups.schedule,
    expiresAfter: s.expiresAfterMs === null ? null : `${toSeconds(s.expiresAfterMs)}s`,
    healthcheck: {
      test: hc.test,
      interval: goDuration(hc.intervalMs),
      timeout: goDuration(hc.timeoutMs),
      retries: hc.retries,
      startPeriod: goDuration(hc.startPeriodMs),
    },
    healthTimeoutSec: toSeconds(s.healthTimeoutMs),
    logs: { maxSize: s.logs.maxSize, maxFile: String(s.logs.maxFile) },
    ports: ctx.ports,
    cdpPorts: s.cdpPorts,
    containerPorts: CONTAINER_PORTS,
    instanceDir: ctx.instanceDir,
    remoteRoot: ctx.remoteRoot,
    ingress: ctx.ingress ?? null,
  };
}

/** The view of env.hbs: the secrets, and nothing that would tempt a template to leak them elsewhere. */
export function secretView(ctx: InstanceContext) {
  const settings = Object.entries(ctx.settings ?? {}).map(([key, value]) => ({ key, value }));
  return { customerId: ctx.customerId, plan: ctx.plan, gatewayToken: ctx.gatewayToken, apiKey: ctx.apiKey ?? null, settings };
}

/**
 * sha256 over the non-secret inputs (settings included) and the container-shaping template sources
 * (compose, env, partials). Secrets are left out so rotating a token keeps the hash; provision.sh is left out so a
 * script-only release does not recreate every container.
 */
export function computeConfigHash(ctx: InstanceContext, templateSources: Record<string, string>): string {
  const inputs = {
    v: 1,
    customerId: ctx.customerId,
    plan: ctx.plan,
    // Only the schedule reaches the host (a label); `keep` is the control machine's business, and
    // hashing the schedule as the string it used to be keeps existing instances in sync.
    // `settable` (the rules) is left out and the effective values are in: what reaches the container.
    planSpec: { ...ctx.planSpec, backups: ctx.planSpec.backups.schedule, settable: undefined },
    ...(ctx.settings && Object.keys(ctx.settings).length > 0 ? { settings: ctx.settings } : {}),
    image: ctx.image,
    ports: ctx.ports,
    instanceDir: ctx.instanceDir,
    remoteRoot: ctx.remoteRoot,
    templates: templateSources,
  };
  return createHash("sha256").update(canonicalJson(inputs)).digest("hex");
}

/** JSON with object keys sorted, so equal inputs hash equally whatever order they were built in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
