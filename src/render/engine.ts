import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import Handlebars from "handlebars";
import { handlebarsHelpers } from "./helpers.js";
import { TemplateError, toTemplateError } from "./template-error.js";

/** Shared partials live here, relative to the templates directory; `{{> name}}` uses the file name without .hbs. */
export const PARTIALS_DIR = "partials";

const COMPILE_OPTIONS = { strict: true, noEscape: true } as const;

/** One templates directory: partials registered once, each template read and compiled once. */
export interface TemplateEngine {
  readonly dir: string;
  /** The template's source; throws TemplateError when the file is missing. */
  source(file: string): string;
  /** Sources of the partials `file` uses, directly or through other partials, by partial name. */
  partialsUsedBy(file: string): Map<string, string>;
  render(file: string, view: object): string;
}

const engines = new Map<string, TemplateEngine>();

/** The cached engine of `dir` (absolute or relative to the cwd). */
export function getEngine(dir: string): TemplateEngine {
  const abs = path.resolve(dir);
  let engine = engines.get(abs);
  if (!engine) {
    engine = createEngine(abs);
    engines.set(abs, engine);
  }
  return engine;
}

function createEngine(dir: string): TemplateEngine {
  const hb = Handlebars.create();
  hb.registerHelper(handlebarsHelpers);
  const sources = new Map<string, string>();
  const compiled = new Map<string, HandlebarsTemplateDelegate>();
  const asts = new Map<string, hbs.AST.Program>();
  const parse = (file: string): hbs.AST.Program => {
    let ast = asts.get(file);
    if (!ast) {
      ast = parseStrict(hb, source(file), file);
      asts.set(file, ast);
    }
    return ast;
  };

  const source = (file: string): string => {
    let text = sources.get(file);
    if (text === undefined) {
      try {
        text = readFileSync(path.join(dir, file), "utf8");
      } catch (err) {
        throw new TemplateError(file, `cannot read template: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
      sources.set(file, text);
    }
    return text;
  };
  const compile = (file: string): HandlebarsTemplateDelegate => {
    let fn = compiled.get(file);
    if (!fn) {
      fn = hb.compile(parse(file), COMPILE_OPTIONS);
      compiled.set(file, fn);
    }
    return fn;
  };

  const partials = new Map<string, string>();
  for (const name of listPartials(dir)) {
    const file = `${PARTIALS_DIR}/${name}.hbs`;
    partials.set(name, source(file));
    const fn = compile(file);
    // Errors inside a partial name the partial's file, not the template that included it.
    hb.registerPartial(name, ((ctx: unknown, opts: RuntimeOptions) => {
      try {
        return fn(ctx, opts);
      } catch (err) {
        throw toTemplateError(err, file);
      }
    }) as unknown as HandlebarsTemplateDelegate);
  }

  return {
    dir,
    source,
    partialsUsedBy(file) {
      const used = new Map<string, string>();
      const visit = (f: string) => {
        for (const name of partialNames(parse(f))) {
          const text = partials.get(name);
          if (text === undefined || used.has(name)) continue;
          used.set(name, text);
          visit(`${PARTIALS_DIR}/${name}.hbs`);
        }
      };
      visit(file);
      return used;
    },
    render(file, view) {
      try {
        return compile(file)(view);
      } catch (err) {
        throw toTemplateError(err, file);
      }
    },
  };
}

function listPartials(dir: string): string[] {
  try {
    return readdirSync(path.join(dir, PARTIALS_DIR))
      .filter((f) => f.endsWith(".hbs"))
      .map((f) => f.slice(0, -4))
      .sort();
  } catch {
    return [];
  }
}

type RuntimeOptions = Parameters<HandlebarsTemplateDelegate>[1];

// Handlebars' strict mode skips helper arguments (`{{yq missing}}` renders ""), so every path in the
// AST is marked strict: any unknown variable, anywhere, throws and names itself.
function parseStrict(hb: typeof Handlebars, text: string, file: string): hbs.AST.Program {
  let ast: hbs.AST.Program;
  try {
    ast = hb.parse(text);
  } catch (err) {
    throw toTemplateError(err, file);
  }
  markPathsStrict(ast);
  return ast;
}

function partialNames(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) {
    for (const child of node) partialNames(child, out);
  } else if (node && typeof node === "object") {
    const n = node as { type?: string; name?: { original?: unknown } };
    if ((n.type === "PartialStatement" || n.type === "PartialBlockStatement") && typeof n.name?.original === "string") {
      out.add(n.name.original);
    }
    for (const [key, child] of Object.entries(node)) if (key !== "loc") partialNames(child, out);
  }
  return out;
}

function markPathsStrict(node: unknown): void {
  if (Array.isArray(node)) {
    for (const child of node) markPathsStrict(child);
  } else if (node && typeof node === "object") {
    const n = node as { type?: string; strict?: boolean };
    if (n.type === "PathExpression") n.strict = true;
    for (const [key, child] of Object.entries(node)) if (key !== "loc") markPathsStrict(child);
  }
}
