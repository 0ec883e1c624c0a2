import pc from "picocolors";
import type { FleetEvent } from "../app/events.js";

/** Output mode shared by every command: results on stdout, progress on stderr. */
export interface Output {
  json: boolean;
  /** Writes the single result document (JSON mode) or human text. */
  result(json: unknown, human: () => string): void;
  info(message: string): void;
  warn(message: string): void;
  onEvent(event: FleetEvent): void;
}

export function createOutput(json: boolean, stdout = process.stdout, stderr = process.stderr): Output {
  const err = (s: string) => stderr.write(s + "\n");
  return {
    json,
    result(doc, human) {
      if (json) stdout.write(JSON.stringify(doc) + "\n");
      else stdout.write(human() + "\n");
    },
    info: (m) => err(m),
    warn: (m) => err(pc.yellow("warning: ") + m),
    onEvent: (e) => renderEvent(e, err),
  };
}

/** Human progress on stderr, in --json mode too: stdout stays one document. */
function renderEvent(e: FleetEvent, err: (s: string) => void): void {
  const where = e.host ? pc.dim(` [${e.host}]`) : "";
  switch (e.type) {
    case "step-start":
      return;
    case "step-done":
      return err(`${pc.green("✓")} ${e.step.padEnd(12)} ${pc.dim(formatMs(e.durationMs))}${where}${e.detail ? " " + e.detail : ""}`);
    case "step-fail":
      return err(`${pc.red("✗")} ${e.step.padEnd(12)} ${pc.dim(formatMs(e.durationMs))}${where} ${e.detail}`);
    case "warn":
      return err(pc.yellow("warning: ") + e.message + where);
    case "queued":
      return err(pc.dim(`… queued${e.customerId ? " " + e.customerId : ""}: ${queueText(e.position, e.waitingFor)}`) + where);
    case "progress":
      return err(pc.dim(`  ${e.step} ${formatBytes(e.bytes)}${e.customerId ? " " + e.customerId : ""}`));
    case "remote-line":
      // Remote chatter only on request; failures carry their own log tail.
      if (process.env.CLAWFLEET_VERBOSE) err(pc.dim(`  ${e.host}| ${e.line}`));
      return;
  }
}

function queueText(position: number, waitingFor: "host" | "overall" | "other-processes"): string {
  if (waitingFor === "other-processes") return `waiting for a run slot on the host (${position} held by other processes)`;
  return `position ${position} in the ${waitingFor === "host" ? "host's" : "overall"} queue of remote runs`;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) (v /= 1024), i++;
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
