import type { z } from "zod";
import { InputError } from "../errors.js";

/** Parses a use case's input, or throws one InputError (exit 2) naming every bad field. */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const res = schema.safeParse(raw);
  if (res.success) return res.data;
  const lines = res.error.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`);
  throw new InputError(lines.join("; "));
}
