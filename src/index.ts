/**
 * clawfleet as a library: `const fleet = await createFleet(); await fleet.provision({...})`.
 * Importing this module has no side effects; adapters load on first use.
 */
import type { Connector, Deps } from "./app/ports.js";
import type { EventSink } from "./app/events.js";
import type { AuditEvent, EventQuery } from "./app/audit/list.js";
import type { AddHostInput, AddHostResult } from "./app/hosts/hosts.js";
import type { HostRecord } from "./store/types.js";
import type { DryRunResult, ProvisionInput, ProvisionResult } from "./app/provision/provision.js";
import type { FleetHealth } from "./daemon/api.js";
import type { ListInput, InstanceSummary } from "./app/lifecycle/list.js";
import type { StatusResult } from "./app/lifecycle/status.js";
import type { LogsInput, LogsResult } from "./app/lifecycle/logs.js";
import type { LifecycleResult } from "./app/lifecycle/lifecycle.js";
import type { RotateTokenResult } from "./app/lifecycle/rotate-token.js";
import type { UpgradeInput, UpgradeResult } from "./app/lifecycle/upgrade.js";
import type { DestroyInput, DestroyResult } from "./app/lifecycle/destroy.js";
import type { ReconcileInput, ReconcileResult } from "./app/reconcile/reconcile.js";
import type { PruneResult } from "./app/lifecycle/prune.js";
import type { BackupEntry, BackupInput, BackupResult, PruneBackupsResult, RestoreInput, RestoreResult } from "./app/backup/index.js";

export * from "./errors.js";
import { InputError } from "./errors.js";
import type { SetHostInput, SetHostResult } from "./app/hosts/set-host.js";
import type { HostRoom } from "./app/hosts/pick.js";
import type { UnlockResult } from "./app/coordination/leases/unlock.js";
import type { Replayed } from "./app/coordination/idempotency/operations.js";
import type { ConfigShowResult } from "./app/config/show.js";
import type { ConfigSetInput, ConfigSetResult } from "./app/config/set.js";
import type { TestDeployInput, TestDeployResult } from "./app/test-deploy/run.js";
export type { ConfigShowResult, SettingView, EnvVarView } from "./app/config/show.js";
export type { ConfigSetInput, ConfigSetResult, SettingChange } from "./app/config/set.js";
export type { TestDeployInput, TestDeployResult, TestCheck } from "./app/test-deploy/run.js";
export type { SetHostInput, SetHostResult } from "./app/hosts/set-host.js";
export type { HostRoom } from "./app/hosts/pick.js";
export type { UnlockResult } from "./app/coordination/leases/unlock.js";
export type { Replayed } from "./app/coordination/idempotency/operations.js";
export type { FleetEvent, EventSink, StepName } from "./app/events.js";
export type { AuditEvent, EventQuery } from "./app/audit/list.js";
export type { AddHostInput, AddHostResult } from "./app/hosts/hosts.js";
export type { HostRecord, InstanceRecord, EventRecord } from "./store/types.js";
export type { ProvisionInput, ProvisionResult, DryRunResult } from "./app/provision/provision.js";
export type { FleetHealth } from "./daemon/api.js";
export type { SweepReport, InstanceHealth, HostHealth, HealthAction } from "./app/health/types.js";
export type { HealthHistory } from "./app/health/history.js";
export type { FleetReport } from "./app/health/report.js";
export type { Alert, AlertKind, AlertSink } from "./app/alerts.js";
export type { HealthDaemon } from "./daemon/daemon.js";
export type { AlertOptions, HealthCheckOptions, HealthDaemonOptions } from "./daemon/facade.js";
export type { ListInput, InstanceSummary } from "./app/lifecycle/list.js";
export type { StatusResult, LiveView } from "./app/lifecycle/status.js";
export type { LogsInput, LogsResult } from "./app/lifecycle/logs.js";
export type { LifecycleResult } from "./app/lifecycle/lifecycle.js";
export type { RotateTokenResult } from "./app/lifecycle/rotate-token.js";
export type { UpgradeInput, UpgradeResult } from "./app/lifecycle/upgrade.js";
export type { DestroyInput, DestroyResult } from "./app/lifecycle/destroy.js";
export type { ReconcileInput, ReconcileResult, ReconcileFinding, HostScan } from "./app/reconcile/reconcile.js";
export type { PruneResult, PruneEntry, ExpiryAlert } from "./app/lifecycle/prune.js";
export type { BackupEntry, BackupInput, BackupResult, PruneBackupsResult, RestoreInput, RestoreResult, BackupTickReport } from "./app/backup/index.js";

export interface FleetOptions {
  /** Default: CLAWFLEET_DATABASE_URL, else SQLite under $XDG_STATE_HOME/clawfleet. */
  databaseUrl?: string;
  /** Receives typed progress events; never secrets. Default: ignore. */
  onEvent?: EventSink;
  /** Recorded on every Event row. Default "library". */
  actor?: string;
  /** Default: process.env. Read for CLAWFLEET_SSH_PASSPHRASE, CLAWFLEET_API_KEY, CLAWFLEET_PLANS. */
  env?: NodeJS.ProcessEnv;
  /** Remote runs (provision, upgrade, destroy, …) this fleet object runs at once over all hosts; more wait in order. Default 10. */
  concurrency?: number;
  /** Remote runs at once on one host, across every process sharing the database. Default 3. */
  perHostConcurrency?: number;
}

export interface Fleet {
  hosts: {
    add(input: AddHostInput): Promise<AddHostResult>;
    list(): Promise<HostRecord[]>;
    remove(name: string): Promise<void>;
    rekey(name: string, choice: { hostKey?: string; acceptNew?: boolean }): Promise<AddHostResult>;
    /** Capacity, shared pool, drain: where new instances may go. */
    set(name: string, input: SetHostInput): Promise<SetHostResult>;
    /** Each host with the memory its live instances reserve and its capacity. */
    usage(): Promise<HostRoom[]>;
  };
  /**
   * Creates or resumes an instance. The result's gatewayToken is shown once and never stored.
   * With `idempotencyKey`, a repeat returns the first outcome (`replayed`, with a reissued token).
   */
  provision(input: ProvisionInput): Promise<(ProvisionResult & Replayed) | DryRunResult>;
  /** Clears a lease left by a crashed operation (a live one only with `force`); records an Event. */
  unlock(customerId: string, opts?: { force?: boolean }): Promise<UnlockResult>;
  /** Health sweeps, the auto-restart policy, history, alerts and the daemon. */
  health: FleetHealth;
  /** The audit log (Event rows): newest first; `follow` yields new rows until the signal aborts. Secret-shaped text is masked. */
  events: {
    list(query?: EventQuery): Promise<AuditEvent[]>;
    follow(query?: EventQuery, opts?: { signal?: AbortSignal; intervalMs?: number }): AsyncGenerator<AuditEvent>;
  };
  /** Instances as the DB knows them (no host contacted). Destroyed ones only with `all`. */
  list(input?: ListInput): Promise<InstanceSummary[]>;
  /** DB state plus live container state and config drift. NotFoundError for unknown or destroyed ids. */
  status(customerId: string, opts?: { plansFile?: string }): Promise<StatusResult>;
  /** Streams container logs to `onLine`; abort `signal` to stop a follow. */
  logs(input: LogsInput): Promise<LogsResult>;
  /** Stops the container, keeps data; the health checker leaves stopped instances alone. */
  stop(customerId: string): Promise<LifecycleResult>;
  start(customerId: string, opts?: { plansFile?: string }): Promise<LifecycleResult>;
  restart(customerId: string, opts?: { plansFile?: string }): Promise<LifecycleResult>;
  /** A fresh token, shown once in the result; on failure the old one stays in force. */
  rotateToken(customerId: string, opts?: { plansFile?: string; idempotencyKey?: string }): Promise<RotateTokenResult & Replayed>;
  /** New image and/or plan, gated on health, rolled back on failure (RemoteCommandError). */
  upgrade(input: UpgradeInput): Promise<UpgradeResult & Replayed>;
  /** Needs `force: true`; frees the port slot and keeps the row (status destroyed) for audit. */
  destroy(input: DestroyInput): Promise<DestroyResult & Replayed>;
  /** DB against hosts: missing, drifted, stopped instances and orphan containers; repairs on request. */
  reconcile(input?: ReconcileInput): Promise<ReconcileResult>;
  /** Destroys expired instances; announces each on `webhook` (default CLAWFLEET_ALERT_WEBHOOK). */
  prune(opts?: { dryRun?: boolean; webhook?: string }): Promise<PruneResult>;
  /**
   * Streams a tar of the instance's data volume into a new file under CLAWFLEET_BACKUP_DIR (age-
   * encrypted to CLAWFLEET_BACKUP_RECIPIENT when set), checked by SHA-256 and recorded.
   */
  backup(input: BackupInput): Promise<BackupResult>;
  backups: {
    /** Newest first; `customerId` filters, `all` adds pruned and purged rows. */
    list(opts?: { customerId?: string; all?: boolean; limit?: number }): Promise<BackupEntry[]>;
    /** Applies each plan's `backups.keep`. */
    prune(opts?: { dryRun?: boolean; plansFile?: string }): Promise<PruneBackupsResult>;
  };
  /** Verifies first; in place (rolled back when unhealthy) or, with `to`, into a new instance. */
  restore(input: RestoreInput): Promise<RestoreResult>;
  config: {
    /** Effective settings from the DB, the plans and the host's .env (secret values masked on the host). */
    show(customerId: string, opts?: { plansFile?: string }): Promise<ConfigShowResult>;
    /** Changes the plan's settable variables and/or the API key; health-gated, rolled back when unhealthy. */
    set(input: ConfigSetInput): Promise<ConfigSetResult>;
  };
  /**
   * Release smoke test: provisions a throwaway `cf-test-…` instance, checks it end to end and
   * destroys it, data included, whatever happened. `ok` is true only when every check passed.
   */
  testDeploy(input?: TestDeployInput): Promise<TestDeployResult>;
  /** Closes SSH connections and the database. */
  close(): Promise<void>;
}

/** Opens the database (migrating it on first use) and returns the fleet facade. */
export async function createFleet(options: FleetOptions = {}): Promise<Fleet> {
  const env = options.env ?? process.env;
  const [{ openStore }, hosts] = await Promise.all([import("./store/open.js"), import("./app/hosts/hosts.js")]);
  const store = await openStore(options.databaseUrl ?? (env.CLAWFLEET_DATABASE_URL || undefined));
  const connector = await sshConnector(env);
  const { RunGate, DEFAULT_RUN_LIMITS } = await import("./app/coordination/runs/gate.js");
  const runs = new RunGate({ overall: bound("concurrency", options.concurrency, DEFAULT_RUN_LIMITS.overall), perHost: bound("perHostConcurrency", options.perHostConcurrency, DEFAULT_RUN_LIMITS.perHost) });
  const { httpsProbe } = await import("./remote/https-probe.js");
  const deps: Deps = { store, connector, clock: { now: () => new Date() }, onEvent: options.onEvent ?? (() => {}), actor: options.actor ?? "library", env, runs, https: httpsProbe };
  return {
    hosts: {
      add: (input) => hosts.addHost(deps, input),
      list: () => hosts.listHosts(deps),
      remove: (name) => hosts.removeHost(deps, name),
      rekey: (name, choice) => hosts.rekeyHost(deps, name, choice),
      set: async (name, input) => (await import("./app/hosts/set-host.js")).setHost(deps, name, input),
      usage: async () => (await import("./app/hosts/pick.js")).hostRooms(deps),
    },
    provision: async (input) => (await import("./app/coordination/idempotency/operations.js")).provisionOnce(deps, input),
    events: {
      list: async (q) => (await import("./app/audit/list.js")).listEvents(deps, q),
      async *follow(q = {}, opts) {
        yield* (await import("./app/audit/follow.js")).followEvents(deps, q, opts);
      },
    },
    unlock: async (id, opts) => (await import("./app/coordination/leases/unlock.js")).unlockInstance(deps, id, opts),
    health: healthMethods(deps),
    ...instanceMethods(deps, env),
    ...backupMethods(deps),
    config: {
      show: async (id, opts) => (await import("./app/config/show.js")).configShow(deps, id, opts),
      set: async (input) => (await import("./app/config/set.js")).configSet(deps, input),
    },
    testDeploy: async (input) => (await import("./app/test-deploy/run.js")).testDeploy(deps, input),
    async close() {
      await connector.closeAll();
      await store.close();
    },
  };
}

function healthMethods(deps: Deps): FleetHealth {
  const facade = () => import("./daemon/facade.js");
  return {
    check: async (opts) => (await facade()).check(deps, opts),
    history: async (id, opts) => (await facade()).history(deps, id, opts),
    report: async (opts) => (await facade()).report(deps, opts),
    prune: async (ms) => (await facade()).prune(deps, ms),
    daemon: async (opts) => (await facade()).daemon(deps, opts),
  };
}

function backupMethods(deps: Deps): Pick<Fleet, "backup" | "backups" | "restore"> {
  const mod = () => import("./app/backup/index.js");
  return {
    backup: async (input) => (await mod()).backupInstance(deps, input),
    backups: {
      list: async (opts) => (await mod()).listBackups(deps, opts),
      prune: async (opts) => (await mod()).pruneBackups(deps, opts),
    },
    restore: async (input) => (await mod()).restoreBackup(deps, input),
  };
}

function bound(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new InputError(`${name}: expected a whole number of at least 1, got ${value}`);
  return value;
}

async function sshConnector(env: NodeJS.ProcessEnv): Promise<Connector> {
  const { SshPool, connectSsh } = await import("./remote/index.js");
  const passphrase = env.CLAWFLEET_SSH_PASSPHRASE;
  const pool = new SshPool({ passphrase });
  return {
    shell: (target) => pool.get(target),
    async probe(target, { acceptNew }) {
      const conn = await connectSsh(target, { acceptNew, passphrase });
      return { fingerprint: conn.fingerprint, shell: conn, close: () => conn.close() };
    },
    forget: (name) => pool.drop(name),
    closeAll: async () => pool.closeAll(),
  };
}

function instanceMethods(deps: Deps, env: NodeJS.ProcessEnv): Omit<Fleet, "hosts" | "provision" | "unlock" | "health" | "events" | "close" | "backup" | "backups" | "restore" | "config" | "testDeploy"> {
  return {
    list: async (input) => (await import("./app/lifecycle/list.js")).listInstances(deps, input),
    status: async (id, opts) => (await import("./app/lifecycle/status.js")).instanceStatus(deps, id, opts),
    logs: async (input) => (await import("./app/lifecycle/logs.js")).instanceLogs(deps, input),
    stop: async (id) => (await import("./app/lifecycle/lifecycle.js")).stopInstance(deps, id),
    start: async (id, opts) => (await import("./app/lifecycle/lifecycle.js")).startInstance(deps, id, opts),
    restart: async (id, opts) => (await import("./app/lifecycle/lifecycle.js")).restartInstance(deps, id, opts),
    rotateToken: async (id, opts) => (await import("./app/coordination/idempotency/operations.js")).rotateTokenOnce(deps, id, opts),
    upgrade: async (input) => (await import("./app/coordination/idempotency/operations.js")).upgradeOnce(deps, input),
    destroy: async (input) => (await import("./app/coordination/idempotency/operations.js")).destroyOnce(deps, input),
    reconcile: async (input) => (await import("./app/reconcile/reconcile.js")).reconcile(deps, input),
    async prune(opts = {}) {
      const { prune } = await import("./app/lifecycle/prune.js");
      const url = opts.webhook ?? env.CLAWFLEET_ALERT_WEBHOOK;
      if (!url) return prune(deps, { dryRun: opts.dryRun });
      const { announcingWebhook } = await import("./daemon/alerts/announce.js");
      const { announce, close } = announcingWebhook(url);
      try {
        return await prune(deps, { dryRun: opts.dryRun, announce });
      } finally {
        close();
      }
    },
  };
}
