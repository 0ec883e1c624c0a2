import type { Command } from "commander";
import pc from "picocolors";
import type { Runner } from "../main.js";
import { withFleet } from "../fleet.js";

/** `test-deploy`: the release smoke test. */
export function registerTestDeploy(program: Command, run: Runner): void {
  program
    .command("test-deploy")
    .description("Provision a throwaway cf-test-… instance, check it end to end, destroy it (always); exit 0 only if every check passed")
    .option("--host <name>", "host to test; default: picked by plan")
    .option("--plan <plan>", "plan to test; default: the first in plans.yaml")
    .option("--image <ref>", "gateway image to test; default: the plan's")
    .option("--plans <file>", "plans file (default: CLAWFLEET_PLANS or templates/plans.yaml)")
    .option("--json", "print one JSON document")
    .action((o) =>
      run(o.json, async (out) => {
        const abort = new AbortController();
        let interrupts = 0;
        const onSignal = () => {
          interrupts++;
          if (interrupts === 1) {
            out.info(pc.yellow("interrupted: cleaning up after the current step (Ctrl-C again to leave it to the next run or `clawfleet reconcile --fix`)"));
            abort.abort(new Error("interrupted"));
          } else {
            process.exit(130);
          }
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
        try {
          return await withFleet(out, async (fleet) => {
            const { checkLine, humanTestDeploy } = await import("../config-view.js");
            const r = await fleet.testDeploy({
              host: o.host,
              plan: o.plan,
              image: o.image,
              plansFile: o.plans,
              signal: abort.signal,
              onCheck: (c) => (o.json ? out.info(checkLine(c)) : process.stdout.write(checkLine(c) + "\n")),
            });
            out.result(r, () => humanTestDeploy(r));
            return r.interrupted ? 130 : r.ok ? 0 : 1;
          });
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
        }
      }),
    );
}
