import { Command, CommanderError } from "commander";
import { EXIT_CODES, ClawfleetError, HostKeyError, RemoteCommandError } from "../errors.js";
import { createOutput, type Output } from "./output.js";
import { registerHosts } from "./commands/hosts.js";
import { registerProvision } from "./commands/provision.js";
import { registerValidateConfig } from "./commands/validate-config.js";
import { registerHealth } from "./commands/health.js";
import { registerInstances } from "./commands/instances.js";
import { registerLifecycle } from "./commands/lifecycle.js";
import { registerReconcile } from "./commands/reconcile.js";
import { registerBackup } from "./commands/backup.js";
import { registerEvents } from "./commands/events.js";
import { registerConfig } from "./commands/config.js";
import { registerTestDeploy } from "./commands/test-deploy.js";

/** Runs one command action with the shared output and error handling; returns the exit status. */
export type Runner = (json: boolean, action: (out: Output) => Promise<number | void>) => Promise<void>;

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const run: Runner = async (json, action) => {
    const out = createOutput(json);
    try {
      exitCode = (await action(out)) ?? 0;
    } catch (err) {
      exitCode = reportError(err, out);
    }
  };

  const program = new Command("clawfleet")
    .description("Provision and keep healthy per-customer AI gateway containers on a fleet of VPSes over SSH")
    .version(process.env.npm_package_version ?? "0.1.0")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerHosts(program, run);
  registerProvision(program, run);
  registerValidateConfig(program, run);
  registerHealth(program, run);
  registerInstances(program, run);
  registerLifecycle(program, run);
  registerReconcile(program, run);
  registerBackup(program, run);
  registerEvents(program, run);
  registerConfig(program, run);
  registerTestDeploy(program, run);

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; usage errors are bad input.
      return err.exitCode === 0 ? 0 : EXIT_CODES.INPUT;
    }
    return reportError(err, createOutput(false));
  }
  return exitCode;
}

function reportError(err: unknown, out: Output): number {
  if (err instanceof ClawfleetError) {
    const doc: Record<string, unknown> = { error: { code: err.code, message: err.message, hint: err.hint } };
    if (err instanceof HostKeyError) Object.assign(doc.error as object, { host: err.host, expected: err.expected, actual: err.actual });
    if (err instanceof RemoteCommandError) Object.assign(doc.error as object, { host: err.host, step: err.step, exitCode: err.exitCode });
    if (out.json) process.stdout.write(JSON.stringify(doc) + "\n");
    process.stderr.write(`error: ${err.message}\n`);
    if (err instanceof RemoteCommandError && err.stderrTail) process.stderr.write(indent(err.stderrTail) + "\n");
    if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    return EXIT_CODES[err.code];
  }
  const message = err instanceof Error ? err.message : String(err);
  if (out.json) process.stdout.write(JSON.stringify({ error: { code: "FAILED", message } }) + "\n");
  process.stderr.write(`error: ${message}\n`);
  if (process.env.CLAWFLEET_DEBUG && err instanceof Error) process.stderr.write(String(err.stack) + "\n");
  return EXIT_CODES.FAILED;
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split("\n")
    .map((l) => "  | " + l)
    .join("\n");
}
