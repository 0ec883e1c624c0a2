/** What a use case reads first: its arguments, and plans.yaml. */
import type { z } from "zod";
import { InputError } from "../errors.js";
import { defaultPlansFile, loadPlans, type Plans } from "../domain/plans.js";
import type { Deps } from "./ports.js";

/** Parses a use case's input, or throws one InputError (exit 2) naming every bad field. */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const res = schema.safeParse(raw);
  if (res.success) return res.data;
  const lines = res.error.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`);
  throw new InputError(lines.join("; "));
}

/** plans.yaml: the given file, else CLAWFLEET_PLANS, else the shipped templates/plans.yaml. */
export function loadPlansFor(deps: Pick<Deps, "env">, plansFile?: string): Promise<Plans> {
  return loadPlans(plansFile ?? defaultPlansFile(deps.env));
}
