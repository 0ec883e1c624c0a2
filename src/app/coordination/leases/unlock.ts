import { ConflictError, NotFoundError } from "../../../errors.js";
import { describeHolder } from "../../../store/lease-owner.js";
import { audit } from "../../audit/record.js";
import type { Deps } from "../../ports.js";
import { isDeadLocalOwner } from "./holder.js";

export interface UnlockResult {
  customerId: string;
  /** The lease that was cleared, or null when none was held. */
  released: { owner: string; since: Date | null; until: Date | null; why: "lapsed" | "dead-process" | "forced" } | null;
  /** A provision interrupted by the crash is marked failed, so the next provision resumes it. */
  status: string;
}

/**
 * Clears an instance's lease. Without `force` only a lease that lapsed or whose process died on
 * this machine; `force` also clears a live one (the operator vouches that its holder is gone). The
 * fence moves on, so a holder that was in fact alive can no longer write.
 */
export async function unlockInstance(deps: Deps, customerId: string, opts: { force?: boolean } = {}): Promise<UnlockResult> {
  const row = await deps.store.instances.get(customerId);
  if (!row || row.status === "destroyed") throw new NotFoundError(`no instance for customer ${customerId}`, "see the instances with `clawfleet list`");
  const now = deps.clock.now();
  if (!row.leaseOwner) return { customerId, released: null, status: row.status };
  const why: "lapsed" | "dead-process" | "forced" | null = row.leaseUntil && row.leaseUntil < now ? "lapsed" : isDeadLocalOwner(row.leaseOwner) ? "dead-process" : opts.force ? "forced" : null;
  if (!why) {
    throw new ConflictError(
      `${customerId} is held by ${describeHolder(row, now)}, which may still be working`,
      `wait for it; if you know that process is gone (another machine crashed, say), run \`clawfleet unlock ${customerId} --force\``,
    );
  }
  const previous = await deps.store.leases.unlock(customerId, now);
  let status: string = row.status;
  if (row.status === "provisioning") {
    status = (await deps.store.instances.update(customerId, { status: "failed", statusReason: `interrupted: its provision (${row.leaseOwner}) was unlocked; run the same provision again to resume` })).status;
  }
  const released = previous ? { owner: previous.owner, since: previous.since, until: previous.until, why } : null;
  await audit(deps, "instance.unlock", customerId, "ok", released ? `cleared the lease of ${describeHolder(row, now)} (${why})` : "no lease was held");
  return { customerId, released, status };
}
