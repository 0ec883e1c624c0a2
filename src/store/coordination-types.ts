/** A live holder of one of a host's run slots. */
export interface RunSlotHolder {
  hostId: string;
  slot: number;
  owner: string;
  label: string | null;
  since: Date;
  until: Date;
}

/**
 * A host's bounded remote runs, shared by every process on one DB: slot n of a host is one row
 * keyed (hostId, slot), so the primary key alone guarantees one holder per slot.
 */
export interface RunSlotRepo {
  /** Takes the lowest slot in [0, limit) that is absent or expired (until < now) for the host; null when all are held and live. */
  tryAcquire(input: { hostId: string; limit: number; owner: string; label?: string; ttlMs: number; now: Date }): Promise<{ slot: number; until: Date } | null>;
  /** Extends until; false when the slot is no longer ours. */
  renew(hostId: string, slot: number, owner: string, until: Date): Promise<boolean>;
  release(hostId: string, slot: number, owner: string): Promise<void>;
  /** Holders with until >= now, ordered by slot. */
  holders(hostId: string, now: Date): Promise<RunSlotHolder[]>;
  /** Deletes the slot if `owner` still holds it, whatever its until (a dead local owner). */
  evict(hostId: string, slot: number, owner: string): Promise<boolean>;
}

export type IdempotencyStatus = "running" | "done" | "failed";

/** A request's idempotency key. `result` is JSON and never holds a secret. */
export interface IdempotencyRecord {
  key: string;
  operation: string;
  requestHash: string;
  customerId: string;
  status: IdempotencyStatus;
  result: string | null;
  owner: string;
  until: Date;
  createdAt: Date;
  updatedAt: Date;
}

export interface IdempotencyRepo {
  /** Inserts a running row for a new key; for an existing key returns it unchanged with inserted false. */
  begin(input: { key: string; operation: string; requestHash: string; customerId: string; owner: string; ttlMs: number; now: Date }): Promise<{ inserted: boolean; record: IdempotencyRecord }>;
  /** CAS on (owner, status): makes it running, ours, until `until` (and clears any result). */
  takeover(key: string, expect: { owner: string; status: IdempotencyStatus }, owner: string, until: Date): Promise<boolean>;
  /** Extends a running row that is still ours. */
  renew(key: string, owner: string, until: Date): Promise<boolean>;
  /** Stores the outcome if the row is still ours and running. */
  finish(key: string, owner: string, status: "done" | "failed", result: string): Promise<boolean>;
  get(key: string): Promise<IdempotencyRecord | null>;
}

/** A host's sweep lease and the last sweep recorded for it (columns on Host). */
export interface HostSweepState {
  hostId: string;
  /** The daemon (or one-shot check) sweeping the host now; null when free. */
  owner: string | null;
  until: Date | null;
  /** The sweep period the last recorded sweep belongs to (the period's start). */
  sweptAt: Date | null;
  sweptBy: string | null;
}

/**
 * Host sweep leases: several daemons on one DB share the hosts, and no host is swept by two at
 * once. A claim is one compare-and-set UPDATE over a batch, so racing daemons split it row by row.
 */
export interface SweepLeaseRepo {
  /**
   * Takes the hosts among `hostIds` that are free (no owner, lapsed before `now`, or held by one of
   * `takeoverFrom`) and, when `dueBefore` is set, due (never swept, or sweptAt before it). Returns
   * the ids won.
   */
  claim(input: { owner: string; hostIds: string[]; dueBefore: Date | null; now: Date; until: Date; takeoverFrom?: string[] }): Promise<string[]>;
  /** Extends every lease `owner` holds; the number still held. */
  renew(owner: string, until: Date): Promise<number>;
  /** Records the hosts as swept for the period starting `periodAt` and frees their leases (only those still ours). */
  finish(owner: string, hostIds: string[], periodAt: Date): Promise<number>;
  /** Frees leases without recording a sweep (the sweep was abandoned). */
  release(owner: string, hostIds: string[]): Promise<void>;
  states(hostIds?: string[]): Promise<HostSweepState[]>;
}
