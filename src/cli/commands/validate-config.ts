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
    .option("--json", "print one JSON document")
    .action((o: { templates?: string; plans?: string; composeCli: boolean; json?: boolean }) =>
      run(Boolean(o.json), async (out) => {
        const { validateConfig } = await import("../../app/validate-config.js");
        const report = await validateConfig({ templatesDir: o.templates, plansFile: o.plans, composeCli: o.composeCli });
        const { formatValidateReport } = await import("./validate-config-view.js");
        out.result(report, () => formatValidateReport(report));
        return report.ok ? 0 : 2;
      }),
    );
}
