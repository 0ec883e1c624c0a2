import os from "node:os";
import { parseOwner } from "../../../store/lease-owner.js";

/**
 * Whether `owner` names a process on this machine that no longer exists: its claim can be taken
 * over at once instead of waiting for it to lapse. A reused pid only makes us wait for the TTL.
 */
export function isDeadLocalOwner(owner: string | null | undefined, hostname = os.hostname()): boolean {
  const parsed = owner ? parseOwner(owner) : null;
  if (!parsed || parsed.machine !== hostname || parsed.pid === process.pid) return false;
  try {
    process.kill(parsed.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}
