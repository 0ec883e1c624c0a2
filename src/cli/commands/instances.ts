import type { Command } from "commander";
import { InputError } from "../../errors.js";
import type { Runner } from "../main.js";
import { intOption, withFleet } from "../fleet.js";

/** `list`, `status` and `logs`: reading instances. */
export function registerInstances(program: Command, run: Runner): void {
  program
    .command("list")
    .description("List instances: customer, plan, host, status, health, age, image")
    .option("--host <name>", "only this host's instances")
    .option("--plan <plan>", "only this plan")
    .option("--all", "include destroyed instances (kept for audit)")
    .option("--json", "print one JSON document")
    .action((o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const list = await fleet.list({ host: o.host, plan: o.plan, all: Boolean(o.all) });
          const { humanList } = await import("../instances-view.js");
          out.result({ instances: list }, () => humanList(list));
        }),
      ),
    );

  program
    .command("status <id>")
    .description("DB state plus live state from the host: container, health, uptime, ports, image, config drift")
    .option("--plans <file>", "plans file, to tell whether an upgrade is due (default: CLAWFLEET_PLANS or templates/plans.yaml)")
    .option("--json", "print one JSON document")
    .action((id: string, o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const s = await fleet.status(id, { plansFile: o.plans });
          const { humanStatus } = await import("../instances-view.js");
          out.result(s, () => humanStatus(s));
          return s.live.reachable ? 0 : 1;
        }),
      ),
    );

  program
    .command("logs <id>")
    .description("Show the container's logs (secrets from .env are masked); --follow streams until Ctrl-C")
    .option("--tail <n>", "lines from the end (default 200; 50 with --follow)", intOption("--tail"))
    .option("--since <duration>", "only lines newer than this, e.g. 10m, 2h, 1d")
    .option("--grep <regex>", "only lines matching this JavaScript regular expression (filtered here)")
    .option("-f, --follow", "keep streaming new lines until Ctrl-C")
    .option("--json", "print one JSON document with the lines (not with --follow)")
    .action((id: string, o) =>
      run(o.json, async (out) => {
        if (o.json && o.follow) throw new InputError("--json and --follow do not mix: a stream is not one document", "drop --json to stream, or --follow to get one document");
        const abort = new AbortController();
        const stop = () => abort.abort(new Error("interrupted"));
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        process.stdout.once("error", stop);
        const lines: string[] = [];
        try {
          return await withFleet(out, async (fleet) => {
            const res = await fleet.logs({
              customerId: id,
              tail: o.tail,
              since: o.since,
              grep: o.grep,
              follow: Boolean(o.follow),
              signal: abort.signal,
              onLine: (line) => (o.json ? lines.push(line) : process.stdout.write(line + "\n")),
            });
            if (o.json) out.result({ ...res, lines }, () => "");
            else if (res.stopped) out.info(`stopped following ${res.customerId}`);
          });
        } finally {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          process.stdout.off("error", stop);
        }
      }),
    );
}
