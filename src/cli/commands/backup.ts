import type { Command } from "commander";
import pc from "picocolors";
import type { Runner } from "../main.js";
import { intOption, withFleet } from "../fleet.js";
import { formatBytes, formatMs } from "../output.js";

/** backup, backups list|prune, restore. */
export function registerBackup(program: Command, run: Runner): void {
  program
    .command("backup <id>")
    .description("Stream a consistent tar of the instance's data volume to CLAWFLEET_BACKUP_DIR, checked by SHA-256")
    .option("--pin", "never prune this backup by retention")
    .option("--no-pause", "copy live, without pausing the container (not a consistent snapshot)")
    .option("--max-pause <seconds>", "longest pause allowed for a consistent copy (default 60)", intOption("--max-pause"))
    .option("--plans <file>", "plans file (default: CLAWFLEET_PLANS or templates/plans.yaml)")
    .option("--json", "print one JSON document")
    .action((id: string, o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const r = await fleet.backup({ customerId: id, pin: Boolean(o.pin), pause: o.pause !== false, maxPauseSec: o.maxPause, plansFile: o.plans });
          out.result(r, () =>
            [`${pc.green("✓")} backed up ${r.customerId} from ${r.host}: ${formatBytes(r.bytes)}${r.encrypted ? ", age-encrypted" : ""} in ${formatMs(r.durationMs)} (paused ${r.pausedMs} ms)`, `  id:     ${r.id}`, `  file:   ${r.path}`, `  sha256: ${r.sha256}`].join("\n"),
          );
        }),
      ),
    );

  const backups = program.command("backups").description("List and prune backups");
  backups
    .command("list [id]")
    .description("Backups, newest first: id, customer, time, size, status")
    .option("--all", "include pruned and purged backups")
    .option("--json", "print one JSON document")
    .action((id: string | undefined, o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const list = await fleet.backups.list({ customerId: id, all: Boolean(o.all) });
          const { humanBackups } = await import("../backup-view.js");
          out.result({ backups: list }, () => humanBackups(list));
        }),
      ),
    );
  backups
    .command("prune")
    .description("Apply each plan's backups.keep: delete older scheduled/manual backups (pinned ones stay)")
    .option("--dry-run", "only show what would be deleted")
    .option("--plans <file>", "plans file (default: CLAWFLEET_PLANS or templates/plans.yaml)")
    .option("--json", "print one JSON document")
    .action((o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const r = await fleet.backups.prune({ dryRun: Boolean(o.dryRun), plansFile: o.plans });
          const { humanPrune } = await import("../backup-view.js");
          out.result(r, () => humanPrune(r));
        }),
      ),
    );

  program
    .command("restore <id>")
    .description("Restore a backup in place (rolled back if unhealthy), or with --to into a new instance")
    .requiredOption("--backup <backup-id>", "the backup to restore (see `clawfleet backups list`)")
    .option("--to <new-id>", "provision a new instance with this customer id from the backup (its own token)")
    .option("--host <name>", "with --to: the host for the new instance")
    .option("--plan <plan>", "with --to: its plan (default: the backup's)")
    .option("--plans <file>", "plans file (default: CLAWFLEET_PLANS or templates/plans.yaml)")
    .option("--json", "print one JSON document")
    .action((id: string, o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          if (!o.to && (o.host || o.plan)) {
            const { InputError } = await import("../../errors.js");
            throw new InputError("--host and --plan go with --to", `restore in place with \`clawfleet restore ${id} --backup ${o.backup}\`, or clone with --to NEW-ID`);
          }
          const r = await fleet.restore({ customerId: id, backupId: o.backup, to: o.to, host: o.host, plan: o.plan, plansFile: o.plans });
          const { humanRestore } = await import("../backup-view.js");
          out.result(r, () => humanRestore(r));
        }),
      ),
    );
}
