import type { Command } from "commander";
import type { Runner } from "../main.js";

/** `clawfleet validate-config`: the app module loads only when the command runs, so --help stays fast. */
export function registerValidateConfig(program: Command, run: Runner): void {
  program
    .command("validate-config")
    .description("Check templates and plans before a release: schema, strict rendering, compose policy, shellcheck")
    .option("--templates <dir>", "templates directory (default: the shipped templates/)")
    .option("--plans <file>", "plans file (default: CLAWFLEET_PLANS, else <templates>/plans.yaml)")
    .option("--no-compose-cli", "skip the `docker compose config -q` / `docker-compose config -q` step")
    .option("--no-cache", "run shellcheck even on a script it already checked (cache: CLAWFLEET_CACHE_DIR, else $XDG_CACHE_HOME/clawfleet)")
    .option("--json", "print one JSON document")
    .action((o: { templates?: string; plans?: string; composeCli: boolean; cache: boolean; json?: boolean }) =>
      run(Boolean(o.json), async (out) => {
        const { validateConfig } = await loadValidateConfig();
        const report = await validateConfig({ templatesDir: o.templates, plansFile: o.plans, composeCli: o.composeCli, cache: o.cache });
        const { formatValidateReport } = await import("./validate-config-view.js");
        out.result(report, () => formatValidateReport(report));
        return report.ok ? 0 : 2;
      }),
    );
}

type ValidateConfigModule = typeof import("../../app/validate/validate-config.js");

/** The bundled use case (dist/validate-config.bundle.js, one file) when built; the modules when run from src/. */
async function loadValidateConfig(): Promise<ValidateConfigModule> {
  try {
    return (await import(new URL("../../validate-config.bundle.js", import.meta.url).href)) as ValidateConfigModule;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw err;
    return import("../../app/validate/validate-config.js");
  }
}
