import { isTestId } from "../../domain/ids.js";
import { parseOwner } from "../../store/lease-owner.js";
import type { InstanceRecord } from "../../store/types.js";
import { isDeadLocalOwner } from "../coordination/leases/holder.js";
import type { Deps } from "../ports.js";

/** The Event a test-deploy run records first; its detail names the run's process (`run <owner>`). */
export const START_ACTION = "test-deploy.start";
/** A run on another machine, or one whose process cannot be checked, is presumed gone after this long. */
export const STALE_AFTER_MS = 60 * 60_000;

export interface Leftover {
  row: InstanceRecord;
  why: string;
}

/**
 * Throwaway instances (`cf-test-…`) whose run is gone: its process died on this machine, or it
 * started more than an hour ago. A live run's instance, or one an operation holds, is left alone.
 */
export async function findLeftovers(deps: Deps, hostId?: string): Promise<Leftover[]> {
  const now = deps.clock.now();
  const rows = (await deps.store.instances.list(hostId ? { hostId } : {})).filter((r) => isTestId(r.customerId));
  const out: Leftover[] = [];
  for (const row of rows) {
    if (row.leaseOwner && row.leaseUntil && row.leaseUntil > now && !isDeadLocalOwner(row.leaseOwner)) continue;
    const [start] = await deps.store.events.list({ target: row.customerId, actionPrefix: START_ACTION, limit: 1 });
    const owner = /^run (\S+)/.exec(start?.detail ?? "")?.[1] ?? null;
    const ageMs = now.getTime() - row.createdAt.getTime();
    if (owner && isDeadLocalOwner(owner)) out.push({ row, why: `its test-deploy run (pid ${parseOwner(owner)?.pid}) is gone` });
    else if (ageMs > STALE_AFTER_MS) out.push({ row, why: `created ${Math.round(ageMs / 60_000)} min ago by a run that did not clean up` });
  }
  return out;
}
