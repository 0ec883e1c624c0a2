import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readSync, statSync, type Stats } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DatabaseFileError, InputError } from "../errors.js";
import { defaultDatabaseUrl } from "../paths.js";
import { backupRepo } from "./backup-repo.js";
import { eventRepo } from "./event-repo.js";
import { healthRepo } from "./health-repo.js";
import { hostRepo } from "./host-repo.js";
import { idempotencyRepo } from "./idempotency-repo.js";
import { instanceRepo } from "./instance-repo.js";
import { leaseRepo } from "./lease-repo.js";
import { loadMigrations, migrate, type Migration } from "./migrate.js";
import { runSlotRepo } from "./run-slot-repo.js";
import { sweepLeaseRepo } from "./sweep-lease-repo.js";
import type BetterSqlite3 from "better-sqlite3";
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
    sweeps: sweepLeaseRepo(db),
    close: () => db.$disconnect(),
  };
}

async function openSqlite(url: string): Promise<{ kind: "sqlite"; db: PrismaClient }> {
  if (!url.startsWith("file:")) {
    throw new InputError(`unsupported CLAWFLEET_DATABASE_URL ${redactUrl(url)}`, "use file:/path/to/clawfleet.db or postgresql://…");
  }
  const file = url.slice("file:".length);
  try {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new DatabaseFileError(file, `cannot create the directory of the SQLite database ${file}: ${errnoText(err)}`,
      "point CLAWFLEET_DATABASE_URL at a file in a directory you may write to", { cause: err });
  }
  const [{ sqliteMigrationDriver }, { default: Database }, { PrismaBetterSQLite3 }, { PrismaClient }] = await Promise.all([
    import("./migrate-sqlite.js"),
    import("better-sqlite3"),
    import("@prisma/adapter-better-sqlite3"),
    import("./generated/sqlite/client.js"),
  ]);
  const migrations = loadMigrations("sqlite");
  checkSqliteFile(file, Database, migrations);
  try {
    await migrate(sqliteMigrationDriver(file), migrations);
  } catch (err) {
    // The checks above are read-only and cheap; SQLite may still find a fault deeper in the file.
    throw sqliteFault(err) ? faultError(file, err) : err;
  }
  // A short busy wait: better-sqlite3 waits synchronously, so a long one stalls this process's other
  // connections; conflicts are retried by withRetry instead.
  const adapter = new PrismaBetterSQLite3({ url: file, timeout: 1_000 });
  return { kind: "sqlite", db: new PrismaClient({ adapter }) };
}

type SqliteDatabase = typeof BetterSqlite3;
const SQLITE_MAGIC = Buffer.from("SQLite format 3\0", "latin1");

/**
 * Refuses a file SQLite cannot use before a migration could write to it, and never writes to it
 * itself. A missing or empty file is a new store.
 */
function checkSqliteFile(file: string, Database: SqliteDatabase, migrations: Migration[]): void {
  let st: Stats;
  try {
    st = statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw denied(file, errnoText(err), err);
  }
  if (st.isDirectory()) {
    throw new DatabaseFileError(file, `cannot use the SQLite database ${file}: it is a directory, not a file`,
      `point CLAWFLEET_DATABASE_URL at the database file, or move the directory aside to start with an empty inventory: ${moveAside(file)} (clawfleet never overwrites it)`);
  }
  if (!st.isFile()) throw unusable(file, "it is not a regular file");
  try {
    accessSync(file, constants.R_OK | constants.W_OK);
  } catch (err) {
    throw denied(file, errnoText(err), err);
  }
  if (st.size === 0) return;
  // After a crash SQLite replays its journal (or WAL) on a normal open; a read-only look would not.
  if (existsSync(`${file}-journal`) || existsSync(`${file}-wal`)) return;
  const head = readHead(file);
  if (!head.subarray(0, 16).equals(SQLITE_MAGIC)) throw unusable(file, "it is not an SQLite database (it does not start with the SQLite header)");
  if (head[18] === 2 || head[19] === 2) return; // WAL mode: a read-only open would create its side files
  probeReadOnly(file, Database, migrations);
}

/** Reads the schema (SQLite notices a truncated file here) and, before a migration would write, every page. */
function probeReadOnly(file: string, Database: SqliteDatabase, migrations: Migration[]): void {
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: 15_000 });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    const applied = tables.includes("_prisma_migrations")
      ? new Set(db.prepare(`SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`).pluck().all() as string[])
      : new Set<string>();
    if (migrations.some((m) => !applied.has(m.name))) {
      const problems = db.prepare("PRAGMA quick_check(3)").pluck().all() as string[];
      if (problems.join() !== "ok") throw unusable(file, `it is corrupt (${problems.join("; ")})`);
    }
  } catch (err) {
    throw sqliteFault(err) ? faultError(file, err) : err;
  } finally {
    db?.close();
  }
}

function readHead(file: string): Buffer {
  const head = Buffer.alloc(20);
  const fd = openSync(file, "r");
  try {
    return head.subarray(0, readSync(fd, head, 0, head.length, 0));
  } finally {
    closeSync(fd);
  }
}

/** SQLite codes that mean the file itself is unusable, unlike a lock another process holds. */
function sqliteFault(err: unknown): boolean {
  return /^SQLITE_(NOTADB|CORRUPT|IOERR|CANTOPEN|PERM|READONLY)/.test(sqliteCode(err));
}

function sqliteCode(err: unknown): string {
  return String((err as { code?: unknown })?.code ?? "");
}

/** A damaged file is to be restored or moved aside; one SQLite may not open or write, to be given access. */
function faultError(file: string, err: unknown): DatabaseFileError {
  const access = /^SQLITE_(CANTOPEN|PERM|READONLY)/.test(sqliteCode(err));
  return access ? denied(file, sqliteText(err), err) : unusable(file, sqliteText(err), err);
}

function sqliteText(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  return `${String(e?.message ?? err)}${typeof e?.code === "string" ? ` (${e.code})` : ""}`;
}

function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const text = { EACCES: "permission denied", EPERM: "operation not permitted", ENOTDIR: "a part of the path is not a directory", EEXIST: "a part of the path is not a directory", EISDIR: "it is a directory" }[e?.code ?? ""];
  return text ? `${text} (${e.code})` : String(e?.message ?? err);
}

function denied(file: string, cause: string, err: unknown): DatabaseFileError {
  return new DatabaseFileError(file, `cannot open the SQLite database ${file}: ${cause}`,
    `give ${os.userInfo().username} read and write access to it and its directory, or point CLAWFLEET_DATABASE_URL at another file`, { cause: err });
}

/** The file cannot be used as it is: clawfleet leaves it alone and says how to recover. */
function unusable(file: string, cause: string, err?: unknown): DatabaseFileError {
  return new DatabaseFileError(file, `cannot use the SQLite database ${file}: ${cause}`,
    `restore it from a backup, or move it aside to start with an empty inventory: ${moveAside(file)} (clawfleet never overwrites it)`,
    err === undefined ? undefined : { cause: err });
}

function moveAside(file: string): string {
  return `mv ${shellWord(file)} ${shellWord(`${file}.corrupt`)}`;
}

function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
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
