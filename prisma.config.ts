import path from "node:path";
import { defineConfig } from "prisma/config";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";

// engine "js" with a driver adapter keeps migrate fully offline (no schema-engine binary download).
export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join("prisma", "schema.prisma"),
  async adapter() {
    const url = process.env.CLAWFLEET_DATABASE_URL ?? "file:./prisma/dev.db";
    return new PrismaBetterSQLite3({ url });
  },
});
