import Database from "better-sqlite3";
import type { MigrationDriver } from "./migrate.js";

const TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" TEXT PRIMARY KEY NOT NULL,
  "checksum" TEXT NOT NULL,
  "finished_at" DATETIME,
  "migration_name" TEXT NOT NULL,
  "logs" TEXT,
  "rolled_back_at" DATETIME,
  "started_at" DATETIME NOT NULL DEFAULT current_timestamp,
  "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

export function sqliteMigrationDriver(file: string): MigrationDriver & { close(): void } {
  const db = new Database(file, { timeout: 15_000 });
  // Rollback journal, not WAL: with WAL, closing one Prisma client broke others on the same file in
  // the same process (SQLITE_IOERR_SHORT_READ), and the billing API may open several fleets.
  db.pragma("journal_mode = DELETE");
  return {
    async lock() {
      db.exec("BEGIN IMMEDIATE");
    },
    async unlock() {
      if (db.inTransaction) db.exec("COMMIT");
      db.close();
    },
    async ensureTable() {
      db.exec(TABLE);
    },
    async applied() {
      const rows = db
        .prepare(`SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`)
        .all() as { migration_name: string }[];
      return new Set(rows.map((r) => r.migration_name));
    },
    async apply(m, id) {
      db.exec(m.sql);
      db.prepare(
        `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count) VALUES (?, ?, current_timestamp, ?, 1)`,
      ).run(id, m.checksum, m.name);
    },
    close() {
      if (db.open) db.close();
    },
  };
}
