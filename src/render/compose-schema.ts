import type { ErrorObject } from "ajv";
// Generated from schema/compose-spec.json by schema/gen-validator.mjs (ajv standalone), so no
// schema is compiled at run time.
import { validate as validateSpec } from "./schema/compose-spec-validate.js";

/** A Compose Specification schema violation: `path` is dotted (`services.gateway.ports.0`). */
export interface SchemaProblem {
  path: string;
  segments: string[];
  message: string;
}

type StandaloneValidate = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** Validates parsed compose data against the bundled Compose Specification schema. */
export function validateComposeSchema(data: unknown): SchemaProblem[] {
  const validate = validateSpec as StandaloneValidate;
  if (validate(data)) return [];
  const seen = new Set<string>();
  const problems: SchemaProblem[] = [];
  for (const err of validate.errors ?? []) {
    const problem = describe(err);
    const key = `${problem.path}: ${problem.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(problem);
    }
  }
  return problems;
}

function describe(err: ErrorObject): SchemaProblem {
  const segments = err.instancePath.split("/").slice(1).map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
  const path = segments.join(".") || "(root)";
  const params = err.params as { additionalProperty?: string; allowedValues?: unknown[] };
  if (err.keyword === "additionalProperties" && params.additionalProperty) {
    return { path, segments, message: `unknown key "${params.additionalProperty}"` };
  }
  if (err.keyword === "enum" && params.allowedValues) {
    return { path, segments, message: `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(", ")}` };
  }
  return { path, segments, message: err.message ?? err.keyword };
}
