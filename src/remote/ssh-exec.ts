import { StringDecoder } from "node:string_decoder";
import type { Client, ClientChannel } from "ssh2";
import { RemoteCommandError } from "../errors.js";
import type { ExecOptions, ExecResult } from "./types.js";

/** Seconds timeout(1) waits after TERM before it sends KILL to the process group. */
export const KILL_AFTER_S = 2;
/** How long past the deadline we wait for the remote exit before closing the channel ourselves. */
const CLIENT_GRACE_MS = (KILL_AFTER_S + 2) * 1000;

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

// sshd signals nothing when the client dies or the link is cut, but it closes the command's stdin.
// On that EOF, while the session's process still lives (after a normal exit sshd has reaped it),
// this TERMs the session's group and KILLs what is left 2 s later. Being in that group, it keeps
// the pgid from being recycled; it holds no stdout or stderr, so sshd never waits for it.
const HANGUP_WATCHER =
  `{ trap '' TERM; while read -r _; do :; done; kill -0 $$ 2>/dev/null || exit 0; ` +
  `kill -TERM -$$; sleep ${KILL_AFTER_S}; kill -KILL -$$; } <&3 >/dev/null 2>&1 &`;

/**
 * The command as sent. With a timeout or an abort signal it runs under timeout(1), which puts it in
 * its own process group and signals the whole group, so nothing it forked survives the deadline.
 * With `hangup` (the caller sends no stdin) it also dies when its channel goes away.
 */
export function wrapCommand(command: string, timeoutMs?: number, abortable = false, opts: { hangup?: boolean } = {}): string {
  if (timeoutMs === undefined && !abortable) return command;
  const secs = timeoutMs === undefined ? "0" : `${Math.max(0.001, timeoutMs / 1000).toFixed(3).replace(/\.?0+$/, "")}s`;
  // `exec` makes timeout(1) the session's process, so sshd's signal (killpg of that pid) reaches it.
  const run = `exec timeout -k ${KILL_AFTER_S} ${secs} sh -c ${shq(command)}`;
  // The command itself reads /dev/null, as it read an empty stdin before.
  return opts.hangup ? `exec 3<&0; ${HANGUP_WATCHER} ${run} </dev/null 3<&-` : run;
}

/** Runs one command on its own channel; resolves on any exit status. */
export function runExec(client: Client, host: string, command: string, options: ExecOptions = {}): Promise<ExecResult> {
  const { stdin, timeoutMs, signal } = options;
  signal?.throwIfAborted();
  const abortable = signal !== undefined;
  // Commands that take stdin keep today's form: their stdin's EOF is data, not a hangup. So do
  // binary streams out (backups): they notice a cut on their next write and clean up themselves
  // (unpausing the container), which a TERM-then-KILL of their group would cut short.
  const hangup = (timeoutMs !== undefined || abortable) && stdin === undefined && !options.stdinStream && !options.stdoutSink;
  const wrapped = wrapCommand(command, timeoutMs, abortable, { hangup });
  return new Promise<ExecResult>((resolve, reject) => {
    const opened = (err: Error | undefined, channel: ClientChannel) => {
      if (err) {
        reject(new RemoteCommandError(host, "exec", `cannot open an SSH channel on ${host}: ${err.message}`, { cause: err }));
        return;
      }
      watchChannel(channel, host, options, resolve, reject);
      if (options.stdinStream) pipeStdin(options.stdinStream, channel);
      else if (stdin !== undefined) channel.end(stdin);
      // With the hangup watcher stdin stays open; sshd closes it when the command exits.
      else if (!hangup) channel.end();
    };
    try {
      client.exec(wrapped, opened);
    } catch (err) {
      reject(new RemoteCommandError(host, "exec", `SSH connection to ${host} is closed`, { cause: err }));
    }
  });
}

function watchChannel(
  channel: ClientChannel,
  host: string,
  options: ExecOptions,
  resolve: (r: ExecResult) => void,
  reject: (e: unknown) => void,
): void {
  const out = collect(options.onStdout, options.streamOnly);
  const err = collect(options.onStderr, options.streamOnly);
  let code: number | null = null;
  let exitSignal: string | undefined;
  let timedOut = false;
  let settled = false;
  const timers: NodeJS.Timeout[] = [];
  const finish = (abortReason?: unknown) => {
    if (settled) return;
    settled = true;
    timers.forEach(clearTimeout);
    options.signal?.removeEventListener("abort", onAbort);
    if (abortReason !== undefined) return reject(abortReason);
    const result: ExecResult = { stdout: out.text(), stderr: err.text(), code, timedOut };
    if (exitSignal !== undefined) result.signal = exitSignal;
    resolve(result);
  };
  const closeAfterGrace = (then: () => void) => {
    timers.push(setTimeout(() => { channel.close(); then(); }, CLIENT_GRACE_MS));
  };
  const onAbort = () => {
    sendSignal(channel, "TERM");
    closeAfterGrace(() => finish(options.signal?.reason));
  };
  let sawExit = false;
  if (options.stdoutSink) sinkStdout(channel, options.stdoutSink);
  else channel.on("data", out.push);
  channel.stderr.on("data", err.push);
  channel.on("exit", (c: number | null, sig?: string) => {
    sawExit = true;
    code = typeof c === "number" ? c : null;
    if (sig) exitSignal = sig;
  });
  channel.on("close", () => {
    if (options.signal?.aborted) return finish(options.signal.reason);
    // OpenSSH always reports an exit status or signal; a close without one means the link died.
    if (!sawExit && !timedOut) return finish(new RemoteCommandError(host, "exec", `SSH connection to ${host} was lost while a command ran`));
    finish();
  });
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.timeoutMs !== undefined) {
    timers.push(setTimeout(() => { timedOut = true; closeAfterGrace(() => finish()); }, options.timeoutMs));
  }
}

/**
 * Sends an SSH "signal" request; OpenSSH (7.9+) does killpg on the session, and timeout(1) passes it
 * on to the command's group. ssh2's public channel.signal() refuses once stdin is closed, which it
 * often is here, so this goes one level down, with the public call as the fallback.
 */
function sendSignal(channel: ClientChannel, name: string): void {
  const internals = channel as unknown as {
    _client?: { _protocol?: { signal?: (id: number, name: string) => void } };
    outgoing?: { id?: number; state?: string };
  };
  const protocol = internals._client?._protocol;
  const id = internals.outgoing?.id;
  if (typeof protocol?.signal === "function" && typeof id === "number" && internals.outgoing?.state !== "closed") {
    protocol.signal(id, name);
  } else {
    channel.signal(name);
  }
}

/**
 * Writes the channel's stdout to `sink`, pausing the channel (so its SSH window stops opening) while
 * the sink is full. ssh2 emits "close" only after "end", so every byte has been handed over by then.
 */
function sinkStdout(channel: ClientChannel, sink: NodeJS.WritableStream): void {
  channel.on("data", (data: Buffer) => {
    if (!sink.write(data)) {
      channel.pause();
      sink.once("drain", () => channel.resume());
    }
  });
}

function pipeStdin(source: NodeJS.ReadableStream, channel: ClientChannel): void {
  source.on("error", () => channel.end());
  source.pipe(channel);
}

function collect(onChunk?: (chunk: string) => void, streamOnly = false) {
  const decoder = new StringDecoder("utf8");
  const parts: string[] = [];
  return {
    push: (data: Buffer) => {
      const chunk = decoder.write(data);
      if (chunk === "") return;
      if (!streamOnly) parts.push(chunk);
      onChunk?.(chunk);
    },
    text: () => {
      const rest = decoder.end();
      if (rest) { parts.push(rest); onChunk?.(rest); }
      return parts.join("");
    },
  };
}
