import { effectiveSettings } from "../../domain/settings.js";
import type { IngressConfig, PlanSpec } from "../../domain/plans.js";
import { DEFAULT_REMOTE_ROOT } from "../../domain/proxy-paths.js";
import { provisionIngressView } from "../ingress/site-plan.js";
import {
  checkCompose, getEngine, parseComposeYaml, renderEach, renderSampleContext, validateComposeSchema,
  SAMPLE_API_KEY, SAMPLE_GATEWAY_TOKEN, SAMPLE_SESSION_SECRET, TemplateError, type FileKey,
} from "../../render/index.js";

export type CheckStatus = "pass" | "fail" | "skip";

/** One ✓/✗ line of the report. */
export interface CheckResult {
  /** The plan, or null for checks of the whole configuration. */
  plan: string | null;
  /** Stable id, e.g. "compose.policy.cap_drop". */
  check: string;
  title: string;
  status: CheckStatus;
  /** Template file (relative to the templates dir) or the plans file. */
  file?: string;
  line?: number;
  /** "template": the line is in `file`; "rendered": in the file rendered from it. */
  lineIn?: "template" | "rendered";
  reason?: string;
}

/** The files rendered for one plan; undefined where rendering failed. */
export interface PlanRender {
  spec: PlanSpec;
  compose?: string;
  env?: string;
  provisionSh?: string;
}

const REQUIRED_ENV = { OPENCLAW_GATEWAY_TOKEN: SAMPLE_GATEWAY_TOKEN, ANTHROPIC_API_KEY: SAMPLE_API_KEY };
const RENDER_CHECKS: Record<FileKey, string> = { compose: "render.compose", env: "render.env", provisionSh: "render.provision" };

/** Renders one plan's files from a sample context: the "templates present" and strict-render checks. */
export function renderPlan(templatesDir: string, spec: PlanSpec, ingress: IngressConfig | null = null): { checks: CheckResult[]; rendered: PlanRender } {
  const plan = spec.name;
  const checks: CheckResult[] = [];
  const add = (c: Omit<CheckResult, "plan">) => checks.push({ plan, ...c });
  const rendered: PlanRender = { spec };
  let engine: ReturnType<typeof getEngine>;
  try {
    engine = getEngine(templatesDir);
  } catch (err) {
    // A partial that does not parse breaks every template.
    const e = asTemplateError(err, "partials");
    add({ check: "render.partials", title: "partials parse", status: "fail", file: e.file, line: e.line ?? undefined, lineIn: "template", reason: e.reason });
    return { checks, rendered };
  }

  const missing = (Object.values(spec.templates) as string[]).filter((f) => !canRead(() => engine.source(f)));
  if (missing.length > 0) {
    add({ check: "templates.present", title: "templates present", status: "fail", file: missing[0], reason: `plan ${plan} has no template ${missing.join(", ")} (file not found)` });
    return { checks, rendered };
  }
  add({ check: "templates.present", title: "templates present", status: "pass" });

  // With ingress, provision.sh carries the proxy branch: render (and lint) that variant.
  const ctx = renderSampleContext(spec, ingress ? { ingress: sampleIngressView(ingress) } : {});
  const outcomes = renderAll(templatesDir, ctx);
  for (const [key, id] of Object.entries(RENDER_CHECKS) as [FileKey, string][]) {
    const file = spec.templates[key];
    const outcome = outcomes[key];
    if (outcome.ok) {
      rendered[key] = outcome.text;
      add({ check: id, title: "renders in strict mode", status: "pass", file });
    } else if (outcome.error) {
      const e = outcome.error;
      add({ check: id, title: "renders in strict mode", status: "fail", file: e.file, line: e.line ?? undefined, lineIn: "template", reason: e.reason });
    } else {
      add({ check: id, title: "renders in strict mode", status: "skip", file, reason: "not rendered: another template failed first" });
    }
  }
  return { checks, rendered };
}

/** In-process checks of rendered files: compose YAML, schema and policy; .env variables; the result line. */
export function checkRendered(rendered: PlanRender): CheckResult[] {
  const { spec } = rendered;
  const checks: CheckResult[] = [];
  if (rendered.compose !== undefined) checks.push(...checkComposeText(spec, rendered.compose, renderSampleContext(spec).customerId));
  if (rendered.env !== undefined) checks.push({ plan: spec.name, ...checkEnv(spec.templates.env, rendered.env, { ...REQUIRED_ENV, ...effectiveSettings(spec, {}) }) });
  if (rendered.provisionSh !== undefined) {
    const ok = rendered.provisionSh.includes("CLAWFLEET_RESULT {");
    checks.push({
      plan: spec.name, check: "provision.result-line", title: "prints the CLAWFLEET_RESULT line", status: ok ? "pass" : "fail",
      file: spec.templates.provisionSh, reason: ok ? undefined : 'no "CLAWFLEET_RESULT {json}" output in the script',
    });
  }
  return checks;
}

function sampleIngressView(ingress: IngressConfig) {
  return provisionIngressView({ ingress, subdomain: "sample", sessionSecret: SAMPLE_SESSION_SECRET }, { remoteRoot: DEFAULT_REMOTE_ROOT, ingressAddress: "203.0.113.7" });
}

function canRead(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

type Outcome = { ok: true; text: string } | { ok: false; error: TemplateError | null };

function renderAll(templatesDir: string, ctx: ReturnType<typeof renderSampleContext>): Record<FileKey, Outcome> {
  const keys = Object.keys(RENDER_CHECKS) as FileKey[];
  try {
    const { files } = renderEach(ctx, { templatesDir });
    return Object.fromEntries(keys.map((k) => {
      const o = files[k];
      return [k, o.ok ? o : { ok: false, error: asTemplateError(o.error, ctx.planSpec.templates[k]) }];
    })) as Record<FileKey, Outcome>;
  } catch (err) {
    // Failed before rendering (e.g. a parse error found while hashing): blame the template it names.
    const error = asTemplateError(err, ctx.planSpec.templates.compose);
    const blamed = keys.find((k) => ctx.planSpec.templates[k] === error.file) ?? "compose";
    return Object.fromEntries(keys.map((k) => [k, { ok: false, error: k === blamed ? error : null }])) as Record<FileKey, Outcome>;
  }
}

function asTemplateError(err: unknown, file: string): TemplateError {
  return err instanceof TemplateError ? err : new TemplateError(file, err instanceof Error ? err.message : String(err));
}

function checkComposeText(spec: PlanSpec, text: string, customerId: string): CheckResult[] {
  const { name: plan, templates: { compose: file } } = spec;
  const out: CheckResult[] = [];
  const add = (c: Omit<CheckResult, "plan" | "file" | "lineIn">) => out.push({ plan, file, lineIn: "rendered", ...c });
  const parsed = parseComposeYaml(text);
  const [first, ...rest] = parsed.errors;
  if (first) {
    // Later YAML errors usually cascade from the first, so only it is reported.
    const more = rest.length > 0 ? ` (and ${rest.length} more)` : "";
    add({ check: "compose.yaml", title: "parses as YAML", status: "fail", line: first.line ?? undefined, reason: withSourceLine(first.message, text, first.line) + more });
    return out;
  }
  add({ check: "compose.yaml", title: "parses as YAML", status: "pass" });
  const schema = validateComposeSchema(parsed.data);
  for (const p of schema) {
    add({ check: "compose.schema", title: "matches the Compose spec schema", status: "fail", line: parsed.lineOf(p.segments) ?? undefined, reason: `${p.path}: ${p.message}` });
  }
  if (schema.length === 0) add({ check: "compose.schema", title: "matches the Compose spec schema", status: "pass" });
  const expect = { customerId, plan, image: spec.image, dataPath: spec.dataPath, memory: spec.memory, cpus: spec.cpus, pids: spec.pids };
  const violations = checkCompose(text, expect);
  for (const v of violations) {
    add({ check: `compose.policy.${v.rule}`, title: `hardening: ${v.rule}`, status: "fail", line: v.line ?? undefined, reason: v.message });
  }
  if (violations.length === 0) add({ check: "compose.policy", title: "hardening policy", status: "pass" });
  return out;
}

function withSourceLine(message: string, text: string, line: number | null): string {
  const src = line ? text.split("\n")[line - 1] : undefined;
  return src === undefined ? message : `${message} near: ${src.trim()}`;
}

/** Every secret and every defaulted settable variable must reach the .env with its value. */
function checkEnv(file: string, text: string, required: Record<string, string>): Omit<CheckResult, "plan"> {
  const vars = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) vars.set(m[1] as string, m[2] as string);
  }
  // Names only in messages: the values are (sample) secrets.
  const problems = Object.entries(required).filter(([k, v]) => vars.get(k) !== v).map(([k]) => k);
  return problems.length === 0
    ? { check: "env.vars", title: ".env has every required variable", status: "pass", file }
    : { check: "env.vars", title: ".env has every required variable", status: "fail", file, reason: `missing or wrong: ${problems.join(", ")}` };
}
