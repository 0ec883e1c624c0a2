import { mkdirSync } from "node:fs";
import path from "node:path";
import { InputError } from "../errors.js";
import { defaultDatabaseUrl } from "../paths.js";
import { backupRepo } from "./backup-repo.js";
import { eventRepo } from "./event-repo.js";
import { healthRepo } from "./health-repo.js";
import { hostRepo } from "./host-repo.js";
import { idempotencyRepo } from "./idempotency-repo.js";
import { instanceRepo } from "./instance-repo.js";
import { leaseRepo } from "./lease-repo.js";
import { loadMigrations, migrate } from "./migrate.js";
import { runSlotRepo } from "./run-slot-repo.js";
import type { PrismaClient } from "./generated/sqlite/client.js";
import type { Store } from "./types.js";

/** Opens the store at `url` (default: CLAWFLEET_DATABASE_URL, else SQLite in XDG state), applying migrations first. */
export async function openStore(url = process.env.CLAWFLEET_DATABASE_URL || defaultDatabaseUrl()): Promise<Store> {
  const { kind, db } = url.startsWith("postgres") ? await openPg(url) : await openSqlite(url);
  return {
    kind,
    hosts: hostRepo(db),
    instances: instanceRepo(db),
    events: eventRepo(db),
    healthChecks: healthRepo(db),
    leases: leaseRepo(db),
    backups: backupRepo(db),
    runSlots: runSlotRepo(db),
    idempotency: idempotencyRepo(db),
    close: () => db.$disconnect(),
  };
}

async function openSqlite(url: string): Promise<{ kind: "sqlite"; db: PrismaClient }> {
  if (!url.startsWith("file:")) {
    throw new InputError(`unsupported CLAWFLEET_DATABASE_URL ${redactUrl(url)}`, "use file:/path/to/clawfleet.db or postgresql://…");
  }
  const file = url.slice("file:".length);
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  const [{ sqliteMigrationDriver }, { PrismaBetterSQLite3 }, { PrismaClient }] = await Promise.all([
    import("./migrate-sqlite.js"),
    import("@prisma/adapter-better-sqlite3"),
    import("./generated/sqlite/client.js"),
  ]);
  await migrate(sqliteMigrationDriver(file), loadMigrations("sqlite"));
  // A short busy wait: better-sqlite3 waits synchronously, so a long one stalls this process's other
  // connections; conflicts are retried by withRetry instead.
  const adapter = new PrismaBetterSQLite3({ url: file, timeout: 1_000 });
  return { kind: "sqlite", db: new PrismaClient({ adapter }) };
}

async function openPg(url: string): Promise<{ kind: "postgresql"; db: PrismaClient }> {
  const [{ pgMigrationDriver }, { PrismaPg }, { PrismaClient }] = await Promise.all([
    import("./migrate-pg.js"),
    import("@prisma/adapter-pg"),
    import("./generated/pg/client.js"),
  ]);
  await migrate(pgMigrationDriver(url), loadMigrations("postgresql"));
  const adapter = new PrismaPg({ connectionString: url });
  // Both generated clients share one model API; only the SQL dialect differs.
  return { kind: "postgresql", db: new PrismaClient({ adapter }) as unknown as PrismaClient };
}

/** A database URL with any password removed, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
