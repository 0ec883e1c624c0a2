import { InputError } from "../errors.js";

/** A template failed to parse or render. `file` is relative to the templates directory. */
export class TemplateError extends InputError {
  readonly file: string;
  readonly line: number | null;
  readonly column: number | null;
  /** The unknown variable or helper, when that was the problem. */
  readonly variable: string | null;
  readonly reason: string;
  constructor(file: string, reason: string, where: { line?: number | null; column?: number | null; variable?: string | null } = {}) {
    const pos = where.line ? `:${where.line}${where.column != null ? `:${where.column}` : ""}` : "";
    super(`${file}${pos}: ${reason}`);
    this.file = file;
    this.line = where.line ?? null;
    this.column = where.column ?? null;
    this.variable = where.variable ?? null;
    this.reason = reason;
  }
}

/** Turns a Handlebars (or helper) error into a TemplateError pointing at `file`; keeps an existing one. */
export function toTemplateError(err: unknown, file: string, renderedFor?: string): TemplateError {
  if (err instanceof TemplateError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const e = err as { lineNumber?: number; column?: number };
  const suffix = renderedFor && renderedFor !== file ? ` (rendering ${renderedFor})` : "";
  const unknown = /^"([^"]+)" not defined in .* - (\d+):(\d+)$/.exec(message);
  if (unknown) {
    const [, variable, line, column] = unknown;
    return new TemplateError(file, `unknown variable "${variable}"${suffix}`, { line: Number(line), column: Number(column), variable });
  }
  const parse = /^Parse error on line (\d+):\n([\s\S]*)$/.exec(message);
  if (parse) {
    const detail = (parse[2] ?? "").split("\n").slice(-1)[0] ?? "";
    return new TemplateError(file, `template syntax error: ${detail}${suffix}`, { line: Number(parse[1]) });
  }
  const partial = /^The partial (.+) could not be found$/.exec(message);
  if (partial) return new TemplateError(file, `unknown partial "${partial[1]}"${suffix}`, { variable: partial[1] });
  return new TemplateError(file, message.split("\n")[0] + suffix, { line: e.lineNumber ?? null, column: e.column ?? null });
}
