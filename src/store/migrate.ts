import { createHash, randomUUID } from "node:crypto";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "../paths.js";

/** One committed migration: prisma/migrations/<name>/migration.sql (or prisma/postgres/migrations for pg). */
export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export function loadMigrations(provider: "sqlite" | "postgresql"): Migration[] {
  const dir = path.join(packageRoot, "prisma", ...(provider === "postgresql" ? ["postgres"] : []), "migrations");
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, "migration.sql")))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      // Same checksum Prisma records, so `prisma migrate status` agrees with us.
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

/** Minimal driver surface so the runner works on better-sqlite3 and pg alike. */
export interface MigrationDriver {
  lock(): Promise<void>;
  unlock(): Promise<void>;
  ensureTable(): Promise<void>;
  applied(): Promise<Set<string>>;
  apply(m: Migration, id: string): Promise<void>;
}

/** Applies pending migrations under a lock; returns the names applied. Safe to call from many processes. */
export async function migrate(driver: MigrationDriver, migrations: Migration[]): Promise<string[]> {
  await driver.lock();
  try {
    await driver.ensureTable();
    const done = await driver.applied();
    const pending = migrations.filter((m) => !done.has(m.name));
    for (const m of pending) await driver.apply(m, randomUUID());
    return pending.map((m) => m.name);
  } finally {
    await driver.unlock();
  }
}
