import { z } from "zod";
import { InputError, NotFoundError, RemoteCommandError } from "../../errors.js";
import { parseDuration } from "../../domain/sizes.js";
import { EXIT_NO_CONTAINER, logsCommand } from "../../remote/commands/logs.js";
import { step } from "../events.js";
import { parseInput } from "../../domain/input.js";
import { connect, mustGetInstance } from "../instance-lookup.js";
import type { Deps } from "../ports.js";

const LogsInput = z.object({
  customerId: z.string(),
  tail: z.number().int().min(0).max(100_000).optional(),
  /** A duration like 10m, 2h or 1d. */
  since: z.string().optional(),
  /** A JavaScript regular expression; lines are filtered here, not on the host. */
  grep: z.string().optional(),
  follow: z.boolean().default(false),
});
export type LogsInput = z.input<typeof LogsInput> & {
  /** Receives each (filtered) line without its newline. */
  onLine: (line: string) => void;
  /** Aborting stops a --follow cleanly; the remote `docker logs` is killed. */
  signal?: AbortSignal;
};

export interface LogsResult {
  customerId: string;
  host: string;
  lines: number;
  /** True when the stream ended because the signal aborted it. */
  stopped: boolean;
}

const DEFAULT_TAIL = 200;
const ONE_SHOT_TIMEOUT_MS = 60_000;

/** Streams the instance's container logs through `onLine`. */
export async function instanceLogs(deps: Deps, raw: LogsInput): Promise<LogsResult> {
  const input = parseInput(LogsInput, raw);
  const sinceSec = input.since === undefined ? undefined : sinceSeconds(input.since);
  const filter = input.grep === undefined ? null : compileGrep(input.grep);
  const { row, host } = await mustGetInstance(deps, input.customerId);
  const shell = await connect(deps, host, row.customerId);
  let count = 0;
  const emit = (line: string) => {
    if (filter && !filter.test(line)) return;
    count++;
    raw.onLine(line);
  };
  const command = logsCommand(host.remoteRoot, row.customerId, { tail: input.tail ?? (input.follow && sinceSec === undefined ? 50 : DEFAULT_TAIL), sinceSec, follow: input.follow });
  const splitter = lines(emit);
  // An abort is how a follow ends: the step then reports "stopped", not a failure.
  const res = await step(deps.onEvent, "logs", { host: host.name, customerId: row.customerId, detail: (r) => (r ? `${count} line(s)` : `stopped after ${count} line(s)`) }, () =>
    shell.exec(command, { onStdout: splitter.push, signal: raw.signal, timeoutMs: input.follow ? undefined : ONE_SHOT_TIMEOUT_MS, streamOnly: input.follow }).catch((err: unknown) => {
      if (raw.signal?.aborted) return null;
      throw err;
    }),
  );
  splitter.end();
  const result = { customerId: row.customerId, host: host.name, lines: count, stopped: res === null };
  if (res === null) return result;
  if (res.code === EXIT_NO_CONTAINER) throw new NotFoundError(`instance ${row.customerId} has no container on ${host.name}`, "see `clawfleet status " + row.customerId + "`, or `clawfleet reconcile`");
  if (res.code !== 0) throw new RemoteCommandError(host.name, "logs", `cannot read the logs of ${row.customerId} on ${host.name}`, { exitCode: res.code, stderrTail: res.stderr.slice(-2000) });
  return result;
}

function sinceSeconds(text: string): number {
  const ms = parseDuration(text);
  if (ms === null || ms < 1000) throw new InputError(`--since: expected a duration like 30s, 10m, 2h or 1d, got ${JSON.stringify(text.slice(0, 40))}`);
  return Math.floor(ms / 1000);
}

function compileGrep(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (err) {
    throw new InputError(`--grep: not a valid regular expression: ${(err as Error).message}`);
  }
}

/** Splits streamed chunks into lines; the last partial line is flushed by end(). */
function lines(emit: (line: string) => void) {
  let buf = "";
  return {
    push(chunk: string) {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        emit(buf.slice(0, i).replace(/\r$/, ""));
        buf = buf.slice(i + 1);
      }
    },
    end() {
      if (buf) emit(buf);
      buf = "";
    },
  };
}
