import { ConflictError } from "../../../errors.js";
import { describeHolder, makeOwner } from "../../../store/lease-owner.js";
import type { Lease } from "../../../store/health-types.js";
import type { InstanceRecord, InstanceStatus } from "../../../store/types.js";
import type { Deps } from "../../ports.js";
import { LEASE_POLICY, startHeartbeat } from "./heartbeat.js";
import { isDeadLocalOwner } from "./holder.js";

/** Statuses that have something on a host to act on. */
export const LIVE_STATUSES: InstanceStatus[] = ["healthy", "unhealthy", "quarantined", "stopped"];

/**
 * Runs `fn` while holding the instance's lease (the one health sweeps take before a restart), so a
 * daemon never restarts an instance in the middle of a stop, an upgrade or a destroy, and two
 * operations on one instance never interleave. The lease is short and renewed by a heartbeat while
 * `fn` runs: a crashed holder's claim lapses within LEASE_POLICY.ttlMs, and one held by a dead
 * process on this machine is taken over at once.
 */
export async function withInstanceLease<T>(deps: Deps, row: InstanceRecord, action: string, fn: (lease: Lease) => Promise<T>, statuses: InstanceStatus[] = LIVE_STATUSES): Promise<T> {
  const lease = await acquireInstanceLease(deps, row, action, statuses);
  const stop = keepLeaseAlive(deps, lease);
  try {
    return await fn(lease);
  } finally {
    stop();
    await deps.store.leases.release(lease).catch(() => false);
  }
}

/** Renews `lease` by heartbeat until the returned function is called; warns once if it is lost. */
export function keepLeaseAlive(deps: Deps, lease: Lease): () => void {
  return startHeartbeat(deps.clock, (until) => deps.store.leases.renew(lease, until), {
    onLost: () => deps.onEvent({ type: "warn", message: `lost the lease on ${lease.customerId} (unlocked or taken over); its writes will be refused`, customerId: lease.customerId, at: Date.now() }),
  });
}

/** Takes the lease, taking over one whose holder died on this machine; ConflictError naming the holder otherwise. */
export async function acquireInstanceLease(deps: Deps, row: InstanceRecord, action: string, statuses: InstanceStatus[]): Promise<Lease> {
  const owner = makeOwner(action.replace(/[^a-z-]/gi, "-"));
  const base = { customerId: row.customerId, owner, ttlMs: LEASE_POLICY.ttlMs, statuses };
  const lease = await deps.store.leases.acquire({ ...base, now: deps.clock.now() });
  if (lease) return lease;
  const fresh = await deps.store.instances.get(row.customerId);
  if (fresh?.leaseOwner && isDeadLocalOwner(fresh.leaseOwner)) {
    const taken = await deps.store.leases.takeover({ ...base, fromOwner: fresh.leaseOwner, now: deps.clock.now() });
    if (taken) {
      deps.onEvent({ type: "warn", message: `took over the lease on ${row.customerId} from ${describeHolder(fresh, deps.clock.now())} (that process is gone)`, customerId: row.customerId, at: Date.now() });
      return taken;
    }
  }
  throw leaseConflict(deps, row.customerId, action, fresh, statuses);
}

function leaseConflict(deps: Deps, customerId: string, action: string, fresh: InstanceRecord | null, statuses: InstanceStatus[]): ConflictError {
  if (!fresh || !statuses.includes(fresh.status)) {
    return new ConflictError(`cannot ${action} ${customerId}: its status is now ${fresh?.status ?? "gone"}`, `see it with \`clawfleet status ${customerId}\``);
  }
  return new ConflictError(
    `cannot ${action} ${customerId}: it is held by ${fresh.leaseOwner ? describeHolder(fresh, deps.clock.now()) : "another operation"}`,
    `wait for it to finish and run the command again; if that process is gone for good, run \`clawfleet unlock ${customerId}\``,
  );
}
