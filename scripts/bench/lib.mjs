// Shared helpers for the benchmark suites: stats, stored results, and BENCHMARKS.md sections.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

export function machine() {
  return `${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`;
}

/** Stores raw results and replaces this suite's section of BENCHMARKS.md. */
/** `measured`: when and where (a report rewritten from stored results keeps theirs). */
export function publish(suite, results, markdown, { at = new Date(), on = machine() } = {}) {
  const dir = path.join(repoRoot, "bench-results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${suite}.json`), JSON.stringify({ suite, at: at.toISOString(), machine: on, results }, null, 2) + "\n");
  const file = path.join(repoRoot, "BENCHMARKS.md");
  const head = "# Benchmarks\n\n`npm run bench` (or `npm run bench -- SUITE`) reruns these; raw numbers are in `bench-results/`.\nEach comparison is measured side by side in one run and reported as a ratio, because these machines are noisy.\n";
  let text = existsSync(file) ? readFileSync(file, "utf8") : head;
  const begin = `<!-- bench:${suite} -->`;
  const end = `<!-- /bench:${suite} -->`;
  const section = `${begin}\n${markdown.trim()}\n\n_Measured ${at.toISOString().slice(0, 16)}Z on ${on}._\n${end}`;
  const re = new RegExp(`${begin}[\\s\\S]*?${end}`);
  text = re.test(text) ? text.replace(re, section) : text.trimEnd() + "\n\n" + section + "\n";
  writeFileSync(file, text);
}

export function table(head, rows) {
  return [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

/** Starts (or keeps) sandbox hosts 1..n and returns their hosts.json entries. */
export function startSandbox(n) {
  execFileSync("bash", [path.join(repoRoot, "scripts/sandbox"), "start", String(n)], { stdio: ["ignore", "ignore", "inherit"] });
  return JSON.parse(readFileSync(path.join(repoRoot, ".sandbox/hosts.json"), "utf8")).slice(0, n);
}

/** Removes one bench customer's container, volume, network and instance dir under each root. */
export function removeInstance(customer, roots) {
  execFileSync("bash", ["-c", `ids=$(docker ps -aq --filter label=io.clawfleet.customer=${customer}); [ -z "$ids" ] || docker rm -f $ids >/dev/null; docker volume rm -f cf-${customer}-data >/dev/null; docker network rm cf-${customer}_default >/dev/null 2>&1; true`]);
  for (const root of roots) rmSync(path.join(root, "instances", customer), { recursive: true, force: true });
}

/** Wall time of `fn` in ms. */
export async function timed(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** The PostgreSQL server the benches use (as the tests: CLAWFLEET_TEST_PG_URL). */
export const pgUrl = process.env.CLAWFLEET_TEST_PG_URL ?? "postgresql://clawfleet:clawfleet@127.0.0.1:5432/clawfleet";

/** A fresh database `name` on that server (any leftover dropped first); `drop()` removes it. */
export async function pgDatabase(name) {
  const { default: pg } = await import("pg");
  const admin = async (sql) => {
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${name}`);
  return { url: pgUrl.replace(/\/[^/]*$/, "/" + name), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
