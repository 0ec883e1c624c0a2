import { defineConfig } from "prisma/config";
import { PrismaPg } from "@prisma/adapter-pg";

// The PostgreSQL twin of ../../prisma.config.ts, used to generate the pg client and migrations offline.
export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "schema.prisma",
  async adapter() {
    return new PrismaPg({ connectionString: process.env.CLAWFLEET_DATABASE_URL ?? "postgresql://clawfleet:clawfleet@127.0.0.1:5432/clawfleet" });
  },
});
