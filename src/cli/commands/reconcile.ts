import type { Command } from "commander";
import type { Runner } from "../main.js";
import { withFleet } from "../fleet.js";

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `reconcile` and `prune`: the DB against the hosts, and expiry. */
export function registerReconcile(program: Command, run: Runner): void {
  program
    .command("reconcile")
    .description("Compare the DB with every host: orphans, missing, drifted and stopped instances (exit 1 when any need attention)")
    .option("--fix", "re-provision missing and drifted instances, start stopped ones, stop ones stopped in the DB, destroy test-deploy leftovers")
    .option("--remove-orphans", "remove labelled containers no instance accounts for (never their volumes)")
    .option("--customer-id <id>", "only this customer (repeatable)", collect)
    .option("--host <name>", "only this host")
    .option("--plans <file>", "plans file (default: CLAWFLEET_PLANS or templates/plans.yaml)")
    .option("--json", "print one JSON document")
    .action((o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const r = await fleet.reconcile({ fix: Boolean(o.fix), removeOrphans: Boolean(o.removeOrphans), customerIds: o.customerId, host: o.host, plansFile: o.plans });
          const { humanReconcile } = await import("../instances-view.js");
          out.result(r, () => humanReconcile(r));
          return r.unresolved > 0 ? 1 : 0;
        }),
      ),
    );

  program
    .command("prune")
    .description("Destroy expired instances (free plans expire), data included; announce each on the webhook")
    .option("--dry-run", "list what would be destroyed; change nothing")
    .option("--webhook <url>", "announce on this URL (default: CLAWFLEET_ALERT_WEBHOOK)")
    .option("--json", "print one JSON document")
    .action((o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const r = await fleet.prune({ dryRun: Boolean(o.dryRun), webhook: o.webhook });
          const { humanPrune } = await import("../instances-view.js");
          out.result(r, () => humanPrune(r));
          return r.failed > 0 ? 1 : 0;
        }),
      ),
    );
}
