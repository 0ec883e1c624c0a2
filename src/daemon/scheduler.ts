import cron, { type ScheduledTask } from "node-cron";
import { InputError } from "../errors.js";

export interface Job {
  stop(): void;
  /** The next run, for messages. */
  next(): Date | null;
  /** The gap between the next two runs: the schedule's period as of now. */
  periodMs(): number | null;
}

/** Checks a cron expression (5 fields, or 6 with seconds first) at the edge. */
export function checkCron(expr: string, flag: string): string {
  if (!cron.validate(expr)) throw new InputError(`${flag}: not a cron expression: ${JSON.stringify(expr)}`, 'for example "*/5 * * * *" (every 5 minutes) or "0 6 * * *" (06:00 daily)');
  return expr;
}

/** Runs `fn` on a cron schedule. node-cron's own logger is silenced: the library never prints. */
export function scheduleJob(expr: string, name: string, fn: () => Promise<unknown>): Job {
  const quiet = { info() {}, warn() {}, error() {}, debug() {} };
  const task: ScheduledTask = cron.schedule(expr, () => fn().catch(() => undefined), { name, logger: quiet, suppressMissedWarning: true });
  return {
    stop: () => void task.destroy(),
    next: () => task.getNextRun(),
    periodMs() {
      const [a, b] = task.getNextRuns(2);
      return a && b ? b.getTime() - a.getTime() : null;
    },
  };
}
