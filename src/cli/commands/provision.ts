import type { Command } from "commander";
import { readApiKey } from "../api-key.js";
import type { Runner } from "../main.js";
import { intOption, withFleet } from "../fleet.js";

export function registerProvision(program: Command, run: Runner): void {
  program
    .command("provision")
    .description("Create a customer's gateway instance on a host")
    .requiredOption("--customer-id <id>", "customer id: ^[a-z][a-z0-9-]{1,31}$")
    .requiredOption("--plan <plan>", "free, pro or enterprise (as in plans.yaml)")
    .option("--host <name>", "registered host; default: picked by plan")
    .option("--image <ref>", "gateway image pinned by tag or digest; default: the plan's")
    .option("--port <base>", "pin the gateway port: basePort + k×portStep from plans.yaml (18800, 18920, …); bridge, browser and CDP follow", intOption("--port"))
    .option("--subdomain <name>", "public site https://NAME.<ingress domain>/ (a DNS label); default: the customer id")
    .option("--api-key-file <file>", "file holding the customer's Anthropic API key, - for stdin (or set CLAWFLEET_API_KEY)")
    .option("--plans <file>", "plans file (default: CLAWFLEET_PLANS or templates/plans.yaml)")
    .option("--dry-run", "render and print the files and planned actions; touch nothing")
    .option("--idempotency-key <key>", "repeating the same request with the same key returns the first outcome (with a fresh token)")
    .option("--json", "print one JSON document as the last stdout line")
    .action((o) =>
      run(o.json, async (out) => {
        const apiKey = await readApiKey(o.apiKeyFile);
        return withFleet(out, async (fleet) => {
          const res = await fleet.provision({
            customerId: o.customerId,
            plan: o.plan,
            host: o.host,
            image: o.image,
            apiKey,
            subdomain: o.subdomain,
            port: o.port,
            plansFile: o.plans,
            dryRun: Boolean(o.dryRun),
            idempotencyKey: o.idempotencyKey,
          });
          const { humanProvision, humanDryRun } = await import("../provision-view.js");
          out.result(res, () => ("dryRun" in res ? humanDryRun(res) : humanProvision(res)));
        });
      }),
    );
}
