import pc from "picocolors";
import type { AuditEvent } from "../index.js";
import { table } from "./table.js";

const DETAIL_WIDTH = 80;

const outcome = (o: string) => (o === "ok" ? pc.green(o) : o === "refused" ? pc.yellow(o) : pc.red(o));
const short = (s: string | null) => (!s ? "" : s.length > DETAIL_WIDTH ? s.slice(0, DETAIL_WIDTH - 1) + "…" : s);
const time = (iso: string) => iso.replace(/\.\d{3}Z$/, "Z");

export function humanEvents(events: AuditEvent[]): string {
  if (events.length === 0) return "no events match";
  return table(["at", "actor", "action", "target", "outcome", "detail"], events.map((e) => [time(e.at), e.actor, e.action, e.target, outcome(e.outcome), short(e.detail)]));
}

/** One line per event, as `--follow` prints them. */
export function eventLine(e: AuditEvent): string {
  return `${time(e.at)}  ${e.action}  ${e.target}  ${outcome(e.outcome)}  ${e.actor}${e.detail ? `  ${e.detail}` : ""}`;
}
