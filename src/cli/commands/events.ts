import { InvalidArgumentError, type Command } from "commander";
import type { EventQuery } from "../../index.js";
import type { Runner } from "../main.js";
import { withFleet } from "../fleet.js";
import { durationOption } from "./health.js";

export function registerEvents(program: Command, run: Runner): void {
  program
    .command("events")
    .description("The audit log: every state-changing operation, newest first (secrets are never shown)")
    .option("--customer-id <id>", "only events about this customer's instance")
    .option("--host <name>", "only events about this host and the instances it has carried")
    .option("--action <prefix>", 'only actions starting with this, e.g. "health." or "instance.provision"')
    .option("--since <duration>", "only events newer than this, e.g. 1h or 7d", durationOption("--since"))
    .option("--limit <n>", "rows to show (1 to 10000)", limitOption, 50)
    .option("--follow", "keep printing new events as they are recorded, oldest first; Ctrl-C ends")
    .option("--json", "print one JSON document ({events: [...]}); with --follow, one JSON line per event")
    .action((o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const q: EventQuery = { customerId: o.customerId, host: o.host, actionPrefix: o.action, since: o.since ? new Date(Date.now() - o.since) : undefined, limit: o.limit };
          const view = await import("../events-view.js");
          if (!o.follow) {
            const events = await fleet.events.list(q);
            out.result({ events }, () => view.humanEvents(events));
            return;
          }
          const abort = new AbortController();
          const end = () => abort.abort();
          process.once("SIGINT", end).once("SIGTERM", end);
          try {
            for await (const e of fleet.events.follow(q, { signal: abort.signal })) process.stdout.write((out.json ? JSON.stringify(e) : view.eventLine(e)) + "\n");
          } finally {
            process.off("SIGINT", end).off("SIGTERM", end);
          }
        }),
      ),
    );
}

function limitOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError(`--limit expects a whole number from 1 to 10000, got "${value}"`);
  return n;
}
