/** A throwaway PostgreSQL database per test file, on the server CLAWFLEET_TEST_PG_URL names. */
import pg from "pg";

export const pgAdminUrl = process.env.CLAWFLEET_TEST_PG_URL ?? "postgresql://clawfleet:clawfleet@127.0.0.1:5432/clawfleet";

export function pgTestDatabase(prefix: string) {
  const name = `${prefix}_${process.pid}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: pgAdminUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  const url = pgAdminUrl.replace(/\/[^/]*$/, "/" + name);
  return {
    name,
    url,
    /** Drops any leftover of the same name first. */
    create: async () => {
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin(`CREATE DATABASE ${name}`);
    },
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
    /** Runs one query on this database. */
    query: async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return (await c.query<R>(sql, params)).rows;
      } finally {
        await c.end();
      }
    },
  };
}
