import type { BackupRepo } from "./backup-types.js";
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
  leaseFence: number;
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
  list(filter?: { hostId?: string; plan?: string; includeDestroyed?: boolean }): Promise<InstanceRecord[]>;
  countLive(hostId: string): Promise<number>;
  /** Creates or revives the row in status provisioning with a free slot, atomically. ConflictError when live or locked. */
  claim(input: ClaimInput): Promise<InstanceRecord>;
  /** Moves the instance to the lowest free slot not in `skip`. */
  reslot(customerId: string, skip: number[]): Promise<InstanceRecord>;
  update(customerId: string, patch: InstancePatch): Promise<InstanceRecord>;
}

export interface EventRepo {
  record(event: EventInput): Promise<void>;
  list(filter?: { target?: string; limit?: number }): Promise<EventRecord[]>;
}

export interface Store {
  readonly kind: "sqlite" | "postgresql";
  hosts: HostRepo;
  instances: InstanceRepo;
  events: EventRepo;
  healthChecks: HealthRepo;
  leases: LeaseRepo;
  backups: BackupRepo;
  close(): Promise<void>;
}
