import { randomBytes } from "node:crypto";
import os from "node:os";

/** Who holds a lease or a slot, as read back from its owner string. */
export interface OwnerParts {
  machine: string;
  pid: number;
  /** The operation; null in owners written before it was recorded. */
  op: string | null;
}

/** An owner string `<machine>:<pid>:<op>:<random>`, unique per call, that names this process. */
export function makeOwner(op: string): string {
  // A colon in op would make the owner ambiguous to parseOwner.
  return `${os.hostname()}:${process.pid}:${op.replace(/:/g, "-")}:${randomBytes(4).toString("hex")}`;
}

/** Parses `<machine>:<pid>:<op>:<random>` or the older `<machine>:<pid>:<random>`; null for any other format. */
export function parseOwner(owner: string): OwnerParts | null {
  const parts = owner.split(":");
  if (!parts.at(-1)) return null;
  // The op field is what tells the formats apart: the pid sits third from the end, else second.
  const withOp = parts.length >= 4 && isPid(parts.at(-3)!);
  if (!withOp && !(parts.length >= 3 && isPid(parts.at(-2)!))) return null;
  const pidAt = withOp ? -3 : -2;
  const machine = parts.slice(0, pidAt).join(":");
  if (!machine) return null;
  return { machine, pid: Number(parts.at(pidAt)), op: withOp ? parts.at(-2) || null : null };
}

function isPid(s: string): boolean {
  return /^\d+$/.test(s) && Number(s) > 0;
}

/** The lease columns describeHolder reads. */
export interface HolderColumns {
  leaseOwner: string | null;
  leaseSince?: Date | null;
  leaseUntil: Date | null;
}

/** Renders a lease holder for messages, e.g. `provision on host ci-1, pid 4242, since <ISO>; it lapses in 23 s`. */
export function describeHolder(row: HolderColumns, now: Date): string {
  const parsed = row.leaseOwner ? parseOwner(row.leaseOwner) : null;
  const who = parsed ? `${parsed.op ?? "a process"} on host ${parsed.machine}, pid ${parsed.pid}` : (row.leaseOwner ?? "another process");
  const since = row.leaseSince ? `, since ${row.leaseSince.toISOString()}` : "";
  return `${who}${since}${row.leaseUntil ? `; ${lapse(row.leaseUntil, now)}` : ""}`;
}

function lapse(until: Date, now: Date): string {
  const ms = until.getTime() - now.getTime();
  return ms >= 0 ? `it lapses in ${duration(ms)}` : `it lapsed ${duration(-ms)} ago`;
}

function duration(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 120) return `${s} s`;
  const min = Math.round(s / 60);
  return min < 120 ? `${min} min` : `${Math.round(min / 60)} h`;
}
