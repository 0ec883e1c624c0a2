import os from "node:os";
import { randomBytes } from "node:crypto";
import { ConflictError } from "../errors.js";
import type { InstanceRecord, InstanceStatus } from "../store/types.js";
import type { Deps } from "./ports.js";

/** Statuses that have something on a host to act on. */
export const LIVE_STATUSES: InstanceStatus[] = ["healthy", "unhealthy", "quarantined", "stopped"];

const OWNER = `${os.hostname()}:${process.pid}:lifecycle:${randomBytes(3).toString("hex")}`;

/**
 * Runs `fn` while holding the instance's lease (the one health sweeps take before a restart), so a
 * daemon never restarts an instance in the middle of a stop, an upgrade or a destroy, and two
 * lifecycle commands on one instance never interleave. A crashed holder's lease expires after `ttlMs`.
 */
export async function withInstanceLease<T>(deps: Deps, row: InstanceRecord, action: string, ttlMs: number, fn: () => Promise<T>, statuses: InstanceStatus[] = LIVE_STATUSES, opts: { renewEveryMs?: number } = {}): Promise<T> {
  const lease = await deps.store.leases.acquire({ customerId: row.customerId, owner: OWNER, ttlMs, now: deps.clock.now(), statuses });
  if (!lease) {
    const fresh = await deps.store.instances.get(row.customerId);
    const busy = fresh?.leaseOwner && fresh.leaseUntil ? ` by ${fresh.leaseOwner} until ${fresh.leaseUntil.toISOString()}` : "";
    throw new ConflictError(
      statuses.includes(fresh?.status as InstanceStatus) ? `cannot ${action} ${row.customerId}: it is being worked on${busy}` : `cannot ${action} ${row.customerId}: its status is now ${fresh?.status ?? "gone"}`,
      "wait for the other operation (or health daemon restart) to finish, then run the command again",
    );
  }
  // A heartbeat keeps a short lease alive for as long as the work runs, so a crash frees it soon.
  const renew = opts.renewEveryMs
    ? setInterval(() => void deps.store.leases.write(lease, { leaseUntil: new Date(deps.clock.now().getTime() + ttlMs) }).catch(() => false), opts.renewEveryMs)
    : undefined;
  try {
    return await fn();
  } finally {
    clearInterval(renew);
    await deps.store.leases.release(lease).catch(() => false);
  }
}
