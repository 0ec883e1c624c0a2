import pg from "pg";
import type { MigrationDriver } from "./migrate.js";

const TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;
// Any constant works; it only has to be the same for every clawfleet process.
const LOCK_KEY = 72707369;

export function pgMigrationDriver(url: string): MigrationDriver {
  const client = new pg.Client({ connectionString: url });
  return {
    async lock() {
      await client.connect();
      await client.query("SELECT pg_advisory_lock($1)", [LOCK_KEY]);
    },
    async unlock() {
      try {
        await client.query("SELECT pg_advisory_unlock($1)", [LOCK_KEY]);
      } finally {
        await client.end();
      }
    },
    async ensureTable() {
      await client.query(TABLE);
    },
    async applied() {
      const res = await client.query<{ migration_name: string }>(
        `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
      );
      return new Set(res.rows.map((r) => r.migration_name));
    },
    async apply(m, id) {
      await client.query("BEGIN");
      try {
        await client.query(m.sql);
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ($1, $2, now(), $3, 1)`,
          [id, m.checksum, m.name],
        );
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK");
        throw err;
      }
    },
  };
}
