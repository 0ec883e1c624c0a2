import type { PolicyConfig } from "../../domain/health-policy.js";
import type { HealthCheckStatus } from "../../store/health-types.js";
import type { AlertSink } from "../alerts.js";

/** What the policy did about one instance in this sweep. */
export type HealthAction =
  | "none"
  | "restarted"
  | "restart-failed"
  | "quarantined"
  | "recovered"
  /** Another process holds the instance's lease: it is handling the instance. */
  | "locked"
  /** The observation predates a restart another process just made. */
  | "stale"
  /** Observe-only sweep. */
  | "observed";

export interface InstanceHealth {
  customerId: string;
  host: string;
  status: HealthCheckStatus;
  reason: string | null;
  latencyMs: number | null;
  container: { state: string; dockerHealth: string; restartCount: number; startedAt: string } | null;
  action: HealthAction;
  /** Policy note: "failure 2/3", "cooling down until …". */
  note: string | null;
  /** The row's status after the sweep: healthy, unhealthy, quarantined… */
  instanceStatus: string;
  consecutiveFailures: number;
  restarts: number;
}

export interface HostHealth {
  name: string;
  reachable: boolean;
  error: string | null;
  durationMs: number;
  instances: number;
}

export interface SweepReport {
  at: string;
  durationMs: number;
  /** Every host reachable and every instance healthy. */
  ok: boolean;
  hosts: HostHealth[];
  instances: InstanceHealth[];
  summary: {
    instances: number;
    healthy: number;
    unhealthy: number;
    unknown: number;
    restarted: number;
    quarantined: number;
    hostsDown: number;
  };
  /** Hosts another sweeper (a daemon on the same DB) had already swept for this period. */
  sweptElsewhere: number;
  /** Hosts another live sweeper still held when this sweep's deadline came: not checked by anyone yet. */
  missed: string[];
}

export interface SweepOptions {
  /** Only this customer's instance (and only its host is contacted). */
  customerId?: string;
  /** Overrides of plans.yaml's `health:` section (flags). */
  policy?: Partial<PolicyConfig>;
  plansFile?: string;
  /** Hosts swept at once. Default 32. */
  concurrency?: number;
  /** Hosts per host-lease claim and per history write. Default 8. */
  batch?: number;
  /**
   * The daemon's sweep period: only hosts nobody swept since `dueBefore` are swept, each recorded as
   * swept for the period starting `at`; hosts others still hold are waited for until `deadline`.
   * Without it (a one-shot check) every host is swept once, waiting up to a minute for busy ones.
   */
  period?: { at: Date; dueBefore: Date; deadline: Date };
  /** Apply the policy: history, counters, restarts, alerts. Default true; false only observes. */
  act?: boolean;
  /** How long a lease is held before others may take over. Default 3 min. */
  leaseTtlMs?: number;
  /** Lease owner id, stable for a daemon's life. Default: host:pid:random. */
  owner?: string;
  alerts?: AlertSink;
  /** Stops starting new hosts and aborts in-flight probes; restarts already begun finish. */
  signal?: AbortSignal;
  /** Fault injection for tests of lease takeover: called right after a lease is taken. */
  afterLease?: (customerId: string) => void;
}
