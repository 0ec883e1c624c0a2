import { parseComposeYaml } from "./compose-yaml.js";
import { SERVICE_RULES, type ComposeExpectations } from "./compose-rules.js";

export type { ComposeExpectations } from "./compose-rules.js";

/** One failed hardening item. `rule` is its name (e.g. "cap_drop", "ports-loopback"). */
export interface PolicyViolation {
  rule: string;
  message: string;
  line: number | null;
}

/** Names of every rule checkCompose applies. */
export const POLICY_RULES: readonly string[] = ["yaml", "version", "no-top-level-name", "services", ...Object.keys(SERVICE_RULES)];

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Checks rendered compose YAML against DESIGN.md's hardening policy; [] when it passes.
 * `expect` adds checks against the plan and customer (limits, labels, volume name, dataPath).
 */
export function checkCompose(yamlText: string, expect: ComposeExpectations = {}): PolicyViolation[] {
  const parsed = parseComposeYaml(yamlText);
  if (parsed.errors.length > 0) return parsed.errors.map((e) => ({ rule: "yaml", message: e.message, line: e.line }));
  const doc = parsed.data;
  if (!isObj(doc)) return [{ rule: "yaml", message: "the file is not a YAML mapping", line: 1 }];
  const out: PolicyViolation[] = [];
  const at = (rule: string, message: string, path: (string | number)[]) => out.push({ rule, message, line: parsed.lineOf(path) });

  // 2.x keeps mem_limit/cpus/pids_limit on Compose v1; v1.29 rejects top-level name:.
  if (typeof doc.version !== "string" || !/^2\.[2-4]$/.test(doc.version)) at("version", 'version: must be "2.4" (a string)', ["version"]);
  if ("name" in doc) at("no-top-level-name", "name: top-level name is not supported by docker-compose v1.29", ["name"]);
  const services = isObj(doc.services) ? doc.services : {};
  if (Object.keys(services).length === 0) at("services", "services: at least one service is required", ["services"]);

  for (const [name, svc] of Object.entries(services)) {
    if (!isObj(svc)) {
      at("services", `services.${name}: must be a mapping`, ["services", name]);
      continue;
    }
    for (const [rule, check] of Object.entries(SERVICE_RULES)) {
      for (const [message, sub] of check(svc, { doc, expect })) at(rule, `services.${name}.${message}`, ["services", name, ...sub]);
    }
  }
  return out;
}
