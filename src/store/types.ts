import type { BackupRepo } from "./backup-types.js";
import type { IdempotencyRepo, RunSlotRepo, SweepLeaseRepo } from "./coordination-types.js";
import type { HealthRepo, LeaseRepo } from "./health-types.js";

/** Rows as the app layer sees them. Secrets never appear here: only hashes and fingerprints. */
export interface HostRecord {
  id: string;
  name: string;
  address: string;
  port: number;
  user: string;
  identityFile: string | null;
  hostKey: string;
  remoteRoot: string;
  shared: boolean;
  capacityMb: number | null;
  /** MemTotal read at `hosts add`; the capacity's basis when none is set. */
  memTotalMb?: number | null;
  /** How files reach the host: "sftp" or "exec"; null: not probed yet. */
  transfer?: string | null;
  /** What the host's ingress proxy binds 80/443 to; null: every address. */
  ingressAddress?: string | null;
  status: string;
  dockerOk: boolean;
  createdAt: Date;
  /** Set by health sweeps while the host cannot be reached. */
  downSince?: Date | null;
  downReason?: string | null;
}

export type NewHost = Omit<HostRecord, "id" | "createdAt" | "status"> & { status?: string };

export type InstanceStatus = "provisioning" | "healthy" | "unhealthy" | "failed" | "stopped" | "quarantined" | "destroyed";

export interface InstanceRecord {
  id: string;
  customerId: string;
  hostId: string;
  plan: string;
  status: InstanceStatus;
  statusReason: string | null;
  image: string;
  configHash: string | null;
  portSlot: number | null;
  tokenHash: string | null;
  apiKeyFingerprint: string | null;
  subdomain: string | null;
  expiresAt: Date | null;
  consecutiveFailures: number;
  restartCount: number;
  lastRestartAt: Date | null;
  /** Start of the health policy's current restart window. */
  restartWindowAt?: Date | null;
  quarantinedAt: Date | null;
  lastHealthAt: Date | null;
  leaseOwner: string | null;
  leaseUntil: Date | null;
  /** When the current lease holder took the lease. */
  leaseSince?: Date | null;
  leaseFence: number;
  /** The plan's memory reserved on the host, set at claim. */
  memoryMb?: number | null;
  /** A failed provision could not remove its container, so the row still uses memory. */
  containerLeft?: boolean;
  /** JSON of the settable variables set with `config set` (see domain/settings.ts); null: none. */
  settings?: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type InstancePatch = Partial<Omit<InstanceRecord, "id" | "customerId" | "createdAt" | "updatedAt">>;

export interface ClaimInput {
  customerId: string;
  hostId: string;
  plan: string;
  image: string;
  /** Pro/enterprise: the host must carry no other live instance. */
  dedicated: boolean;
  /** The public site's DNS label (ingress); unique across the fleet, null without ingress. */
  subdomain?: string | null;
  /** Slots known to be busy on the host; allocation skips them. */
  skipSlots?: number[];
  /** Exactly this slot (`provision --port`); ConflictError when another instance on the host holds it. */
  slot?: number;
  /** The plan's memory; stored as the row's memoryMb. */
  needMb?: number;
  /** The host's effective capacity; when a number, the claim refuses a host that lacks room for needMb. */
  capacityMb?: number | null;
  /** A live provisioning lease held by this owner (a dead local process) is taken over instead of refused. */
  takeoverFrom?: string;
  leaseOwner: string;
  leaseMs: number;
  now: Date;
}

export interface EventInput {
  actor: string;
  action: string;
  target: string;
  outcome: "ok" | "failed" | "refused";
  detail?: string;
}

export interface EventRecord extends EventInput {
  id: string;
  at: Date;
  detail?: string;
}

export interface HostRepo {
  create(host: NewHost): Promise<HostRecord>;
  get(name: string): Promise<HostRecord | null>;
  getById(id: string): Promise<HostRecord | null>;
  list(): Promise<HostRecord[]>;
  update(name: string, patch: Partial<NewHost>): Promise<HostRecord>;
  remove(name: string): Promise<void>;
}

export interface InstanceRepo {
  get(customerId: string): Promise<InstanceRecord | null>;
  list(filter?: { hostId?: string; hostIds?: string[]; plan?: string; includeDestroyed?: boolean }): Promise<InstanceRecord[]>;
  countLive(hostId: string): Promise<number>;
  /** Per hostId: the memory reserved by rows that use memory (see usesMemory), and how many they are. */
  usage(): Promise<Map<string, { usedMb: number; count: number }>>;
  /** Creates or revives the row in status provisioning with a free slot, atomically. ConflictError when live, locked, misplaced or out of room. */
  claim(input: ClaimInput): Promise<InstanceRecord>;
  /** Moves the instance to the lowest free slot not in `skip`. */
  reslot(customerId: string, skip: number[]): Promise<InstanceRecord>;
  update(customerId: string, patch: InstancePatch): Promise<InstanceRecord>;
}

export interface EventFilter {
  target?: string;
  /** Any of these targets. */
  targets?: string[];
  actionPrefix?: string;
  since?: Date;
  limit?: number;
}

export interface EventRepo {
  record(event: EventInput): Promise<void>;
  /** Newest first (at, then id). */
  list(filter?: EventFilter): Promise<EventRecord[]>;
}

export interface Store {
  readonly kind: "sqlite" | "postgresql";
  hosts: HostRepo;
  instances: InstanceRepo;
  events: EventRepo;
  healthChecks: HealthRepo;
  leases: LeaseRepo;
  backups: BackupRepo;
  runSlots: RunSlotRepo;
  idempotency: IdempotencyRepo;
  sweeps: SweepLeaseRepo;
  close(): Promise<void>;
}
