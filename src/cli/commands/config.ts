import type { Command } from "commander";
import type { Runner } from "../main.js";
import { withFleet } from "../fleet.js";
import { readApiKey } from "../api-key.js";
import { splitAssignments } from "../../domain/settings.js";

/** `config show` and `config set`: an instance's effective settings. */
export function registerConfig(program: Command, run: Runner): void {
  const config = program.command("config").description("Show or change an instance's settings");
  config
    .command("show <id>")
    .description("Plan, image, host, ports, public URL, limits, config drift, settings and the .env's keys (secrets masked)")
    .option("--plans <file>", "plans file (default: CLAWFLEET_PLANS or templates/plans.yaml)")
    .option("--json", "print one JSON document")
    .action((id: string, o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const r = await fleet.config.show(id, { plansFile: o.plans });
          const { humanConfigShow } = await import("../config-view.js");
          out.result(r, () => humanConfigShow(r));
          return r.env.reachable ? 0 : 1;
        }),
      ),
    );
  config
    .command("set <id> [assignments...]")
    .description("Change the plan's settable variables (KEY=VALUE) and/or the API key; re-rendered, restarted health-gated, rolled back when unhealthy")
    .option("--api-key-file <file>", "replace the customer's API key with the one in FILE (- reads stdin); never on the command line")
    .option("--dry-run", "show the change; touch nothing")
    .option("--plans <file>", "plans file (default: CLAWFLEET_PLANS or templates/plans.yaml)")
    .option("--json", "print one JSON document")
    .action((id: string, assignments: string[], o) =>
      run(o.json, async (out) => {
        const set = splitAssignments(assignments);
        const apiKey = await readApiKey(o.apiKeyFile, { env: false });
        return withFleet(out, async (fleet) => {
          const r = await fleet.config.set({ customerId: id, set, apiKey, dryRun: Boolean(o.dryRun), plansFile: o.plans });
          const { humanConfigSet } = await import("../config-view.js");
          out.result(r, () => humanConfigSet(r));
        });
      }),
    );
}
