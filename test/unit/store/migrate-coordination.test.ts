import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadMigrations, migrate } from "../../../src/store/migrate.js";
import { sqliteMigrationDriver } from "../../../src/store/migrate-sqlite.js";
import { openStore } from "../../../src/store/open.js";

// Migrations run inside one transaction, where SQLite ignores PRAGMA foreign_keys=OFF: a migration
// that rebuilt Instance would cascade-delete its health checks. Upgrade a populated database to prove none does.
let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("the coordination migration on an existing SQLite database", () => {
  it("keeps every row that hangs off Instance and gives old rows the new columns' defaults", async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "cf-migrate-"));
    const file = path.join(dir, "cf.db");
    const all = loadMigrations("sqlite");
    expect(all.map((m) => m.name)).toContain("20261204000000_coordination");
    await migrate(sqliteMigrationDriver(file), all.filter((m) => m.name < "20261204000000_coordination"));
    const db = new Database(file);
    db.exec(`INSERT INTO Host (id, name, address, user, hostKey, updatedAt) VALUES ('h', 'h1', 'a', 'u', 'k', 0);
      INSERT INTO Instance (id, customerId, hostId, plan, status, image, updatedAt) VALUES ('i', 'a1', 'h', 'free', 'healthy', 'img', 0);
      INSERT INTO HealthCheck (id, instanceId, ok) VALUES ('hc', 'i', 1);
      INSERT INTO Backup (id, instanceId, customerId, hostName, plan, trigger, status, path) VALUES ('b', 'i', 'a1', 'h1', 'free', 'manual', 'ok', '/b');`);
    db.close();

    const store = await openStore("file:" + file);
    try {
      expect(await store.healthChecks.history("i")).toHaveLength(1);
      expect(await store.backups.list()).toHaveLength(1);
      expect(await store.instances.get("a1")).toMatchObject({ memoryMb: null, containerLeft: false, leaseSince: null });
      expect(await store.hosts.get("h1")).toMatchObject({ memTotalMb: null, transfer: null });
    } finally {
      await store.close();
    }
  });
});
