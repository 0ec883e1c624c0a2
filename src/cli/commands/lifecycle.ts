import type { Command } from "commander";
import pc from "picocolors";
import type { Runner } from "../main.js";
import { withFleet } from "../fleet.js";
import { formatMs } from "../output.js";

/** stop, start, restart, rotate-token, upgrade and destroy: changing instances. */
export function registerLifecycle(program: Command, run: Runner): void {
  program
    .command("unlock <id>")
    .description("Clear a lease a crashed operation left (one that lapsed or whose process is gone; a live one with --force)")
    .option("--force", "also clear a lease whose holder may still be alive (you vouch that it is gone)")
    .option("--json", "print one JSON document")
    .action((id: string, o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const r = await fleet.unlock(id, { force: Boolean(o.force) });
          out.result(r, () =>
            r.released
              ? `${pc.green("✓")} ${r.customerId}: cleared the lease of ${r.released.owner} (${r.released.why})${r.status === "failed" ? "; its interrupted provision is marked failed: run the same provision again to resume it" : ""}`
              : `${r.customerId} holds no lease; nothing to do`,
          );
        }),
      ),
    );

  program
    .command("stop <id>")
    .description("Stop the container; data and files stay, and the health checker leaves it alone")
    .option("--json", "print one JSON document")
    .action((id: string, o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const r = await fleet.stop(id);
          out.result(r, () => `${r.customerId} is stopped${r.changed ? "" : " (it already was)"}; \`clawfleet start ${r.customerId}\` brings it back`);
        }),
      ),
    );

  for (const action of ["start", "restart"] as const) {
    program
      .command(`${action} <id>`)
      .description(action === "start" ? "Start a stopped instance and wait until it is healthy" : "Restart the container and wait until it is healthy")
      .option("--plans <file>", "plans file, for the health timeout (default: CLAWFLEET_PLANS or templates/plans.yaml)")
      .option("--json", "print one JSON document")
      .action((id: string, o) =>
        run(o.json, (out) =>
          withFleet(out, async (fleet) => {
            const r = await fleet[action](id, { plansFile: o.plans });
            out.result(r, () => `${pc.green("✓")} ${r.customerId} ${action === "start" ? "started" : "restarted"} and ${r.state}`);
          }),
        ),
      );
  }

  program
    .command("rotate-token <id>")
    .description("Issue a new gateway token (shown once); on failure the old token stays in force")
    .option("--plans <file>", "plans file (default: CLAWFLEET_PLANS or templates/plans.yaml)")
    .option("--idempotency-key <key>", "a repeat with the same key does not rotate twice")
    .option("--json", "print one JSON document")
    .action((id: string, o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const r = await fleet.rotateToken(id, { plansFile: o.plans, idempotencyKey: o.idempotencyKey });
          out.result(r, () =>
            [`${pc.green("✓")} ${r.customerId}: new token in force, the old one no longer works`, `  gateway token: ${r.gatewayToken}`, pc.yellow("  The token is shown once and is not stored; save it now."), `  took ${formatMs(r.durationMs)}`].join("\n"),
          );
        }),
      ),
    );

  program
    .command("upgrade <id>")
    .description("Re-provision with a new image and/or plan, gated on health; rolls back when unhealthy (exit 1)")
    .option("--image <ref>", "new gateway image, pinned (default: keep the current one)")
    .option("--plan <plan>", "new plan (default: keep the current one)")
    .option("--plans <file>", "plans file (default: CLAWFLEET_PLANS or templates/plans.yaml)")
    .option("--idempotency-key <key>", "a repeat with the same key returns the first outcome")
    .option("--json", "print one JSON document")
    .action((id: string, o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const r = await fleet.upgrade({ customerId: id, image: o.image, plan: o.plan, plansFile: o.plans, idempotencyKey: o.idempotencyKey });
          out.result(r, () =>
            r.action === "none"
              ? `${r.customerId} is in sync with nothing to change; nothing was touched`
              : `${pc.green("✓")} ${r.customerId} upgraded and healthy: ${changes(r)} (${formatMs(r.durationMs)})`,
          );
        }),
      ),
    );

  program
    .command("destroy <id>")
    .description("Remove the instance's containers, network, files and data volume; frees its port slot")
    .option("--force", "really do it (without it: exit 2 and a list of what would be removed)")
    .option("--keep-data", "keep the data volume cf-<id>-data")
    .option("--purge-backups", "also delete the customer's backups (by default they are kept)")
    .option("--idempotency-key <key>", "a repeat with the same key returns the first outcome")
    .option("--json", "print one JSON document")
    .action((id: string, o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const r = await fleet.destroy({ customerId: id, force: Boolean(o.force), keepData: Boolean(o.keepData), purgeBackups: Boolean(o.purgeBackups), idempotencyKey: o.idempotencyKey });
          const backups = r.backups.purged > 0 ? `  purged ${r.backups.purged} backup(s)` : r.backups.kept > 0 ? `  kept ${r.backups.kept} backup(s): \`clawfleet backups list ${r.customerId}\` (delete them with destroy --purge-backups)` : "";
          out.result(r, () => [`${pc.green("✓")} destroyed ${r.customerId} on ${r.host}; removed:`, ...r.removed.map((x) => `  ${x}`), ...(r.keptData ? [`  (kept volume cf-${r.customerId}-data)`] : []), ...(backups ? [backups] : [])].join("\n"));
        }),
      ),
    );
}

function changes(r: { plan: string; previousPlan: string; image: string; previousImage: string }): string {
  const parts = [r.plan !== r.previousPlan ? `plan ${r.previousPlan} -> ${r.plan}` : "", r.image !== r.previousImage ? `image ${r.previousImage} -> ${r.image}` : ""].filter(Boolean);
  return parts.length ? parts.join(", ") : "config re-applied from the current plans and templates";
}
