import type { InstanceRecord, InstanceStatus } from "./types.js";

export type HealthCheckStatus = "healthy" | "unhealthy" | "unknown";

/** One instance, one sweep. `detail` is the reason; it never holds a secret. */
export interface HealthCheckRecord {
  id: string;
  instanceId: string;
  at: Date;
  ok: boolean;
  status: HealthCheckStatus;
  latencyMs: number | null;
  detail: string | null;
}

export type NewHealthCheck = Omit<HealthCheckRecord, "id">;

/** Health history, host reachability and the report's counts. */
export interface HealthRepo {
  record(rows: NewHealthCheck[]): Promise<void>;
  /** Newest first. */
  history(instanceId: string, opts?: { limit?: number; since?: Date }): Promise<HealthCheckRecord[]>;
  /** Deletes rows older than `before`; returns how many. */
  prune(before: Date): Promise<number>;
  /** Stamps lastHealthAt on instances that are still healthy with clean counters (the steady state, no lease needed). */
  touchHealthy(instanceIds: string[], at: Date): Promise<void>;
  /** Marks a host down unless it already is: true only for the one caller that made the change. */
  markHostDown(hostId: string, at: Date, reason: string): Promise<boolean>;
  /** Marks a host up: the outage's start for the one caller that ended it, else null. */
  markHostUp(hostId: string): Promise<Date | null>;
  /** Events whose action starts with `actionPrefix`, at or after `since`. */
  countEvents(actionPrefix: string, since: Date): Promise<number>;
}

/** A held lease: writes made with it succeed only while `fence` is still the row's fence. */
export interface Lease {
  customerId: string;
  owner: string;
  fence: number;
  until: Date;
  /** The row as it was right after the lease was taken. */
  row: InstanceRecord;
}

/** The health policy's columns, as a transition expects to find them. */
export type HealthColumns = Pick<InstanceRecord, "status" | "consecutiveFailures" | "restartCount" | "lastRestartAt" | "quarantinedAt">;

/**
 * Per-instance leases: compare-and-set on (owner, expiry), with a fencing counter that every
 * acquisition increments. A process whose lease expired and was taken over cannot write any more.
 */
export interface LeaseRepo {
  /** Takes the lease if it is free, expired or already ours, and the row's status is one of `statuses`. */
  acquire(input: { customerId: string; owner: string; ttlMs: number; now: Date; statuses: InstanceStatus[] }): Promise<Lease | null>;
  /** Takes the lease from `fromOwner` whatever its expiry (that process is known dead), if the status is one of `statuses`. */
  takeover(input: { customerId: string; fromOwner: string; owner: string; ttlMs: number; now: Date; statuses: InstanceStatus[] }): Promise<Lease | null>;
  /** Clears the lease and moves the fence on, so its holder's writes fail from then on. The cleared lease, or null when none was set. */
  unlock(customerId: string, now: Date): Promise<{ owner: string; since: Date | null; until: Date | null } | null>;
  /** Extends `lease` to `until`, only if it is still current. */
  renew(lease: Lease, until: Date): Promise<boolean>;
  /** Updates the row only if `lease` is still current. */
  write(lease: Lease, patch: Partial<InstanceRecord>): Promise<boolean>;
  /** Applies `patch` and frees the lease, only if it is still current. */
  release(lease: Lease, patch?: Partial<InstanceRecord>): Promise<boolean>;
  /**
   * Compare-and-sets in one transaction: each patch applies only if its row still has `expect` and
   * no live lease. One flag per item: whether it applied.
   */
  transition(items: { customerId: string; expect: HealthColumns; patch: Partial<InstanceRecord> }[], now: Date): Promise<boolean[]>;
}
