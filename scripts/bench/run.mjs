// `npm run bench [suite…]`: runs every scripts/bench/<suite>.mjs (except this file and lib.mjs), or the named ones.
// Each suite stores its raw results in bench-results/<suite>.json and rewrites its own section of BENCHMARKS.md.
import { readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here).filter((f) => f.endsWith(".mjs") && !["run.mjs", "lib.mjs"].includes(f)).map((f) => f.slice(0, -4)).sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length) {
  console.error(`unknown bench suite(s): ${unknown.join(", ")}; known: ${all.join(", ")}`);
  process.exit(2);
}
let failed = 0;
for (const suite of wanted.length ? wanted : all) {
  console.error(`\n=== bench: ${suite}`);
  const r = spawnSync(process.execPath, [path.join(here, `${suite}.mjs`)], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
