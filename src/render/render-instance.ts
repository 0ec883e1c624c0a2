import { getEngine } from "./engine.js";
import { checkInstanceContext, computeConfigHash, publicView, secretView, type InstanceContext } from "./context.js";
import { defaultTemplatesDir } from "../domain/plans.js";

export interface RenderOptions {
  /** Defaults to the shipped templates/ directory. */
  templatesDir?: string;
}

export interface RenderedInstance {
  files: {
    /** docker-compose.yml, uploaded 0644. */
    compose: string;
    /** .env, uploaded 0600. Holds the secrets. */
    env: string;
    /** provision.sh, uploaded 0700. */
    provisionSh: string;
  };
  configHash: string;
}

export type FileKey = keyof RenderedInstance["files"];
export type FileOutcome = { ok: true; text: string } | { ok: false; error: unknown };

/** Renders an instance's three files in memory. Throws InputError (bad context) or TemplateError. */
export function renderInstance(ctx: InstanceContext, opts: RenderOptions = {}): RenderedInstance {
  const { configHash, files } = renderEach(ctx, opts);
  const text = (key: FileKey): string => {
    const outcome = files[key];
    if (!outcome.ok) throw outcome.error;
    return outcome.text;
  };
  return { files: { compose: text("compose"), env: text("env"), provisionSh: text("provisionSh") }, configHash };
}

/** Like renderInstance, but renders every file even when another fails (for validate-config). */
export function renderEach(ctx: InstanceContext, opts: RenderOptions = {}): { configHash: string; files: Record<FileKey, FileOutcome> } {
  checkInstanceContext(ctx);
  const engine = getEngine(opts.templatesDir ?? defaultTemplatesDir);
  const t = ctx.planSpec.templates;
  const sources: Record<string, string> = { compose: engine.source(t.compose), env: engine.source(t.env) };
  for (const file of [t.compose, t.env]) {
    for (const [name, text] of engine.partialsUsedBy(file)) sources[`partials/${name}`] = text;
  }
  // The hash goes into a compose label, so it is computed before the compose file is rendered.
  const configHash = computeConfigHash(ctx, sources);
  const view = publicView(ctx, configHash);
  const attempt = (render: () => string): FileOutcome => {
    try {
      return { ok: true, text: render() };
    } catch (error) {
      return { ok: false, error };
    }
  };
  return {
    configHash,
    files: {
      compose: attempt(() => engine.render(t.compose, view)),
      env: attempt(() => engine.render(t.env, secretView(ctx))),
      provisionSh: attempt(() => engine.render(t.provisionSh, view)),
    },
  };
}
