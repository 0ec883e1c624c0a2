import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { defaultTemplatesDir, parsePlans, type Plans } from "../../domain/plans.js";
import { selfTestTokenGenerator } from "../../domain/secrets.js";
import { checkRendered, renderPlan, type CheckResult, type CheckStatus, type PlanRender } from "./plan.js";
import { checkShellcheck } from "./scripts.js";
import { bashSyntax, composeConfig, detectComposeCli, shellcheck, SHELLCHECK_ARGS, type ShellcheckComment } from "./tools.js";
import { defaultCacheDir, openShellcheckCache, type ShellcheckCache } from "./shellcheck-cache.js";
import { checkIngress } from "./ingress-checks.js";

export type { CheckResult, CheckStatus } from "./plan.js";

export interface ValidateConfigOptions {
  /** Default: the shipped templates/. */
  templatesDir?: string;
  /** Default: CLAWFLEET_PLANS, else <templatesDir>/plans.yaml. */
  plansFile?: string;
  /** Run `docker compose config -q` / `docker-compose config -q` when installed. Default true. */
  composeCli?: boolean;
  /** A missing shellcheck fails instead of being skipped. Default: under CI (CI=true). */
  requireShellcheck?: boolean;
  shellcheckBin?: string;
  bashBin?: string;
  /** For the ingress section's `caddy adapt --validate`. Default "caddy". */
  caddyBin?: string;
  /** A missing caddy fails the ingress check instead of skipping it. Default: under CI. */
  requireCaddy?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Reuse shellcheck's findings for a script it already checked (validate/shellcheck-cache.ts). Default true. */
  cache?: boolean;
  /** Default: CLAWFLEET_CACHE_DIR, else $XDG_CACHE_HOME/clawfleet. */
  cacheDir?: string;
}

export interface ValidateConfigReport {
  ok: boolean;
  templatesDir: string;
  plansFile: string;
  plans: string[];
  /** Checks of the whole configuration (plan null) first, then each plan's in plans.yaml order. */
  checks: CheckResult[];
  summary: { passed: number; failed: number; skipped: number };
  /** The local checks (in-process, bash -n, shellcheck); the compose CLI step is timed apart. */
  durationMs: number;
  composeCli: { tool: string | null; status: CheckStatus; durationMs: number };
  /** "hit": shellcheck's findings came from the cache for every script; "off": no cache was used. */
  shellcheckCache: "hit" | "miss" | "off";
}

/** Checks plans.yaml and every template for every plan, as release CI runs before shipping. Never prints. */
export async function validateConfig(opts: ValidateConfigOptions = {}): Promise<ValidateConfigReport> {
  const started = performance.now();
  const env = opts.env ?? process.env;
  const templatesDir = path.resolve(opts.templatesDir ?? defaultTemplatesDir);
  const plansFile = path.resolve(opts.plansFile ?? (env.CLAWFLEET_PLANS || path.join(templatesDir, "plans.yaml")));
  const global: CheckResult[] = [];
  const perPlan = new Map<string, CheckResult[]>();
  const tmp = await mkdtemp(path.join(os.tmpdir(), "clawfleet-validate-"));
  try {
    const shellcheckBin = opts.shellcheckBin ?? "shellcheck";
    // Finding shellcheck on PATH overlaps reading the plans: both sit before shellcheck can start.
    const [plans, cache] = await Promise.all([
      checkPlansFile(plansFile, global),
      opts.cache === false ? null : openShellcheckCache(opts.cacheDir ?? defaultCacheDir(env), shellcheckBin, SHELLCHECK_ARGS, env),
    ]);
    const renders: PlanRender[] = [];
    let scripts: Promise<Map<string, CheckResult[]>> = Promise.resolve(new Map());
    const cacheUse = { hits: 0, misses: 0 };
    if (plans) {
      for (const spec of Object.values(plans.plans)) {
        const { checks, rendered } = renderPlan(templatesDir, spec, plans.ingress);
        perPlan.set(spec.name, checks);
        renders.push(rendered);
      }
      // shellcheck (~0.2 s, the slowest check) starts first and runs in its own process meanwhile.
      scripts = checkScripts(tmp, renders, { shellcheckBin, bashBin: opts.bashBin ?? "bash", requireShellcheck: opts.requireShellcheck ?? isCi(env), cache, cacheUse });
      scripts.catch(() => undefined);
    }
    const ingress = plans?.ingress ? checkIngress(plans.ingress, templatesDir, tmp, { caddyBin: opts.caddyBin ?? "caddy", requireCaddy: opts.requireCaddy ?? isCi(env) }) : Promise.resolve([]);
    ingress.catch(() => undefined);
    const tokenProblems = selfTestTokenGenerator();
    global.push({ plan: null, check: "secrets.token", title: "token generator self-test (64 hex, 1,000 distinct)", status: tokenProblems.length ? "fail" : "pass", reason: tokenProblems.join("; ") || undefined });
    if (plans) global.push(...(await checkOrphanTemplates(templatesDir, plans)), ...(await ingress));
    const local = renders.map((r) => checkRendered(r));
    const scriptChecks = await scripts;
    renders.forEach((r, i) => perPlan.get(r.spec.name)?.push(...(local[i] ?? []), ...(scriptChecks.get(r.spec.name) ?? [])));
    const durationMs = Math.round(performance.now() - started);
    const composeCli = opts.composeCli === false ? { tool: null, status: "skip" as const, durationMs: 0 } : await checkComposeCli(tmp, renders, perPlan);
    const checks = [...global, ...[...perPlan.values()].flat()];
    const count = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
    const summary = { passed: count("pass"), failed: count("fail"), skipped: count("skip") };
    const shellcheckCache = !cache || cacheUse.hits + cacheUse.misses === 0 ? "off" : cacheUse.misses === 0 ? "hit" : "miss";
    return { ok: summary.failed === 0, templatesDir, plansFile, plans: plans ? Object.keys(plans.plans) : [], checks, summary, durationMs, composeCli, shellcheckCache };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function isCi(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.CI) && env.CI !== "false" && env.CI !== "0";
}

async function checkPlansFile(file: string, out: CheckResult[]): Promise<Plans | null> {
  const base = { plan: null, file };
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    out.push({ ...base, check: "plans.schema", title: "plans.yaml schema", status: "fail", reason: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` });
    return null;
  }
  const { plans, errors } = parsePlans(text, file);
  const lines = errors.flatMap((e) => e.split("\n"));
  const isImage = (e: string) => /^[^:]*\bimage: /.test(e);
  const report = (check: string, title: string, list: string[]) => {
    if (list.length === 0) out.push({ ...base, check, title, status: "pass" });
    for (const reason of list) out.push({ ...base, check, title, status: "fail", reason, line: lineOf(reason) });
  };
  report("plans.schema", "plans.yaml schema", lines.filter((e) => !isImage(e)));
  report("plans.images", "images pinned by tag or digest", lines.filter(isImage));
  return plans;
}

function lineOf(reason: string): number | undefined {
  const m = /\(line (\d+)/.exec(reason);
  return m ? Number(m[1]) : undefined;
}

async function checkOrphanTemplates(templatesDir: string, plans: Plans): Promise<CheckResult[]> {
  const used = new Set(Object.values(plans.plans).map((p) => p.templates.compose));
  const files = await readdir(path.join(templatesDir, "compose")).catch(() => [] as string[]);
  const orphans = files.filter((f) => f.endsWith(".hbs")).map((f) => `compose/${f}`).filter((f) => !used.has(f));
  const title = "every compose template belongs to a plan";
  if (orphans.length === 0) return [{ plan: null, check: "templates.orphans", title, status: "pass" }];
  return orphans.map((file) => ({
    plan: null, check: "templates.orphans", title, status: "fail" as const, file,
    reason: `no plan uses ${file}; plans.yaml defines ${Object.keys(plans.plans).join(", ")}`,
  }));
}

interface ScriptOptions {
  shellcheckBin: string;
  bashBin: string;
  requireShellcheck: boolean;
  cache: ShellcheckCache | null;
  cacheUse: { hits: number; misses: number };
}

async function checkScripts(tmp: string, renders: PlanRender[], o: ScriptOptions): Promise<Map<string, CheckResult[]>> {
  const scripts = renders.filter((r): r is PlanRender & { provisionSh: string } => r.provisionSh !== undefined);
  const files = new Map<string, string>();
  const contents = new Map<string, string>();
  await Promise.all(scripts.map(async (r) => {
    const dir = path.join(tmp, r.spec.name);
    await mkdir(dir, { recursive: true });
    files.set(r.spec.name, path.join(dir, "provision.sh"));
    contents.set(path.join(dir, "provision.sh"), r.provisionSh);
    await writeFile(path.join(dir, "provision.sh"), r.provisionSh, { mode: 0o600 });
  }));
  const [syntax, linted] = await Promise.all([
    Promise.all(scripts.map(async (r) => ({ r, error: await bashSyntax(o.bashBin, files.get(r.spec.name) as string) }))),
    checkShellcheck(scripts, files, (bin, list) => (o.cache ? cachedShellcheck(o.cache, contents, o.cacheUse, bin, list) : shellcheck(bin, list)), o),
  ]);
  const out = new Map<string, CheckResult[]>();
  for (const { r, error } of syntax) {
    const file = r.spec.templates.provisionSh;
    out.set(r.spec.name, [error
      ? { plan: r.spec.name, check: "provision.syntax", title: "bash -n", status: "fail", file, line: error.line ?? undefined, lineIn: "rendered", reason: error.message }
      : { plan: r.spec.name, check: "provision.syntax", title: "bash -n", status: "pass", file }, ...(linted.get(r.spec.name) ?? [])]);
  }
  return out;
}

/** shellcheck over the files whose exact content it has not checked before; the rest from the cache. */
async function cachedShellcheck(cache: ShellcheckCache, contents: Map<string, string>, use: { hits: number; misses: number }, bin: string, list: string[]): Promise<ShellcheckComment[] | null> {
  const known = await Promise.all(list.map(async (file) => ({ file, comments: await cache.get(contents.get(file) ?? "", file) })));
  const missing = known.filter((k) => k.comments === null).map((k) => k.file);
  use.hits += list.length - missing.length;
  use.misses += missing.length;
  const fresh = missing.length > 0 ? await shellcheck(bin, missing) : [];
  if (fresh === null) return null;
  await Promise.all(missing.map((file) => cache.put(contents.get(file) ?? "", fresh.filter((c) => c.file === file))));
  return [...known.flatMap((k) => k.comments ?? []), ...fresh];
}

async function checkComposeCli(tmp: string, renders: PlanRender[], perPlan: Map<string, CheckResult[]>): Promise<ValidateConfigReport["composeCli"]> {
  const started = performance.now();
  const cli = await detectComposeCli();
  const title = "config -q";
  const withCompose = renders.filter((r) => r.compose !== undefined && r.env !== undefined);
  const results = await Promise.all(withCompose.map(async (r) => {
    if (!cli) return { r, status: "skip" as const, reason: "neither docker compose nor docker-compose is installed" };
    const dir = path.join(tmp, `${r.spec.name}-compose`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "docker-compose.yml"), r.compose as string);
    await writeFile(path.join(dir, ".env"), r.env as string, { mode: 0o600 });
    const error = await composeConfig(cli, path.join(dir, "docker-compose.yml"), dir);
    return { r, status: error ? ("fail" as const) : ("pass" as const), reason: error ?? undefined };
  }));
  for (const { r, status, reason } of results) {
    perPlan.get(r.spec.name)?.push({ plan: r.spec.name, check: "compose.config", title: cli ? `${cli.tool} ${title}` : `compose ${title}`, status, file: r.spec.templates.compose, reason });
  }
  const status: CheckStatus = !cli ? "skip" : results.some((x) => x.status === "fail") ? "fail" : "pass";
  return { tool: cli?.tool ?? null, status, durationMs: Math.round(performance.now() - started) };
}
