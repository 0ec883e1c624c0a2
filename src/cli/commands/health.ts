import os from "node:os";
import { InvalidArgumentError, type Command } from "commander";
import type { FleetEvent } from "../../app/events.js";
import { parseDuration } from "../../domain/sizes.js";
import type { Fleet, HealthCheckOptions } from "../../index.js";
import type { Runner } from "../main.js";
import { intOption, withFleet } from "../fleet.js";
import type { Output } from "../output.js";

/** Test-only fault injection: the daemon dies right after it takes a lease, as a crash would. */
const FAULT_ENV = "CLAWFLEET_FAULT_AFTER_LEASE";

export function registerHealth(program: Command, run: Runner): void {
  const health = program.command("health").description("Health sweeps, the auto-restart policy, history and the daemon");

  policyFlags(health.command("check"))
    .description("Sweep once: check every instance (or one), apply the restart policy; exit 0 only if all are healthy")
    .option("--customer-id <id>", "only this customer's instance")
    .option("--observe", "only look: record nothing, restart nothing, alert nobody")
    .option("--json", "print one JSON document")
    .action((o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const report = await fleet.health.check({ ...sweepOptions(o), customerId: o.customerId, act: !o.observe, webhook: o.webhook });
          const { humanSweep } = await import("../health-view.js");
          out.result(report, () => humanSweep(report));
          return report.ok ? 0 : 1;
        }),
      ),
    );

  health
    .command("history <customer-id>")
    .description("An instance's recorded health checks, newest first")
    .option("--limit <n>", "rows to show", intOption("--limit"), 20)
    .option("--since <duration>", "only checks newer than this, e.g. 1h or 7d", durationOption("--since"))
    .option("--json", "print one JSON document")
    .action((customerId: string, o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const since = o.since ? new Date(Date.now() - o.since) : undefined;
          const h = await fleet.health.history(customerId, { limit: o.limit, since });
          const { humanHistory } = await import("../health-view.js");
          out.result(h, () => humanHistory(h));
        }),
      ),
    );

  health
    .command("report")
    .description("Write the fleet health report now (as the daemon does daily): an Event, the webhook, stdout")
    .option("--webhook <url>", "alert webhook (default: CLAWFLEET_ALERT_WEBHOOK)")
    .option("--json", "print one JSON document")
    .action((o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const r = await fleet.health.report({ webhook: o.webhook });
          const { humanReport } = await import("../health-view.js");
          out.result(r, () => humanReport(r));
        }),
      ),
    );

  policyFlags(health.command("daemon"))
    .description("Sweep on a schedule, restart per policy, alert, report daily, prune history; stops cleanly on SIGTERM/SIGINT")
    .option("--every <cron>", 'sweep schedule (default: plans.yaml health.sweepSchedule, "*/5 * * * *")')
    .option("--daily <cron>", 'report and prune schedule (default: plans.yaml health.reportSchedule, "0 6 * * *")')
    .option("--retention <duration>", "keep health history this long (default: plans.yaml health.retention, 30d)", durationOption("--retention"))
    .option("--no-expire", "do not destroy expired instances with the daily report (as `clawfleet prune` would)")
    .option("--no-backups", "do not run the plans' scheduled backups")
    .option("--backup-concurrency <n>", "scheduled backups at once across the fleet (default 2)", intOption("--backup-concurrency"))
    .option("--backup-retry <duration>", "after a failed scheduled backup, wait this long before trying again (default 30m)", durationOption("--backup-retry"))
    .option("--metrics-listen <[addr:]port>", "serve Prometheus /metrics and /healthz there (a bare port listens on 127.0.0.1 only); off by default")
    .option("--json", "print one JSON line per sweep and report (NDJSON)")
    .action((o) => run(o.json, (out) => runDaemon(out, o)));
}

function policyFlags(cmd: Command): Command {
  return cmd
    .option("--failure-threshold <n>", "failed checks in a row before a restart (default: plans.yaml, 3)", intOption("--failure-threshold"))
    .option("--max-restarts <n>", "restarts within the window before quarantine (default 3)", intOption("--max-restarts"))
    .option("--restart-window <duration>", "window for --max-restarts (default 1h)", durationOption("--restart-window"))
    .option("--backoff-initial <duration>", "cooldown after the first restart, doubling (default 1m)", durationOption("--backoff-initial"))
    .option("--backoff-max <duration>", "longest cooldown (default 30m)", durationOption("--backoff-max"))
    .option("--concurrency <n>", "hosts swept at once (default 32)", intOption("--concurrency"))
    .option("--lease-ttl <duration>", "how long an instance lease holds before another process may take over (default 30s; renewed while a restart runs)", durationOption("--lease-ttl"))
    .option("--webhook <url>", "alert webhook (default: CLAWFLEET_ALERT_WEBHOOK)")
    .option("--plans <file>", "plans file (default: CLAWFLEET_PLANS or templates/plans.yaml)");
}

function sweepOptions(o: Record<string, any>): HealthCheckOptions {
  return {
    plansFile: o.plans,
    concurrency: o.concurrency,
    leaseTtlMs: o.leaseTtl,
    policy: {
      failureThreshold: o.failureThreshold, maxRestarts: o.maxRestarts, restartWindowMs: o.restartWindow,
      backoffInitialMs: o.backoffInitial, backoffMaxMs: o.backoffMax,
    },
  };
}

export function durationOption(flag: string) {
  return (value: string): number => {
    const ms = parseDuration(value);
    if (ms === null) throw new InvalidArgumentError(`${flag} expects a duration like 90s, 5m or 7d, got "${value}"`);
    return ms;
  };
}

async function runDaemon(out: Output, o: Record<string, any>): Promise<number> {
  const { createFleet } = await import("../../index.js");
  const view = await import("../health-view.js");
  const fleet: Fleet = await createFleet({ onEvent: daemonEvents(out), actor: `health-daemon:${os.hostname()}` });
  try {
    const sweep = sweepOptions(o);
    const d = await fleet.health.daemon({
      every: o.every, daily: o.daily, retentionMs: o.retention, webhook: o.webhook,
      sweep: { ...sweep, afterLease: process.env[FAULT_ENV] === "kill" ? () => process.kill(process.pid, "SIGKILL") : undefined },
      onSweep: (r) => (out.json ? line({ type: "sweep", ...r }) : line(view.sweepLine(r))),
      onReport: (r) => (out.json ? line({ type: "report", ...r }) : line(view.humanReport(r))),
      expire: o.expire !== false,
      onExpire: (r) => (out.json ? line({ type: "expire", ...r }) : r.expired.length > 0 && line(`expired instances: ${r.expired.map((e) => `${e.customerId} ${e.outcome}`).join(", ")}`)),
      backups: o.backups !== false,
      backupConcurrency: o.backupConcurrency,
      backupRetryAfterMs: o.backupRetry,
      onBackups: (r) => (out.json ? line({ type: "backups", ...r }) : line(view.backupTickLine(r))),
      onSkip: () => out.warn("a sweep was due while the previous one still ran; skipped it"),
      onError: (err, what) => out.warn(`${what} failed: ${err instanceof Error ? err.message : String(err)}`),
      metricsListen: o.metricsListen,
    });
    out.info(`health daemon ${d.owner} started`);
    if (d.metricsAddress) out.info(`metrics: http://${d.metricsAddress}/metrics (daemon health: /healthz)`);
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once("SIGTERM", () => resolve("SIGTERM"));
      process.once("SIGINT", () => resolve("SIGINT"));
    });
    out.info(`${signal}: finishing the current sweep, then closing connections`);
    // A second signal means "now": restarts under way are left to their lease's expiry.
    const force = () => process.exit(130);
    process.once("SIGTERM", force).once("SIGINT", force);
    await d.stop();
    out.info("health daemon stopped");
    return 0;
  } finally {
    await fleet.close();
  }
}

function line(doc: unknown): void {
  process.stdout.write((typeof doc === "string" ? doc : JSON.stringify(doc)) + "\n");
}

/** The daemon shows restarts, alerts and warnings; per-host sweep steps only with CLAWFLEET_VERBOSE. */
function daemonEvents(out: Output): (e: FleetEvent) => void {
  return (e) => {
    if (e.type === "step-start") return;
    if ((e.type === "step-done" || e.type === "step-fail") && (e.step === "sweep" || e.step === "connect") && !process.env.CLAWFLEET_VERBOSE) return;
    if (e.type === "progress" && !process.env.CLAWFLEET_VERBOSE) return;
    out.onEvent(e);
  };
}
