// Derives prisma/postgres/schema.prisma from the SQLite schema so the two can never drift apart.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";

const src = readFileSync("prisma/schema.prisma", "utf8");
const out = src
  .replace(/^\/\/.*\n/, "// GENERATED from prisma/schema.prisma by scripts/gen-pg-schema.mjs. Do not edit.\n")
  .replace('output     = "../src/store/generated/sqlite"', 'output     = "../../src/store/generated/pg"')
  .replace('provider = "sqlite"', 'provider = "postgresql"')
  .replace('url      = "file:./dev.db"', 'url      = "postgresql://localhost/clawfleet"');
if (out === src) throw new Error("gen-pg-schema: nothing replaced");
mkdirSync("prisma/postgres", { recursive: true });
writeFileSync("prisma/postgres/schema.prisma", out);
