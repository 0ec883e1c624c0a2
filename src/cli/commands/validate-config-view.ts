import path from "node:path";
import pc from "picocolors";
import type { CheckResult, ValidateConfigReport } from "../../app/validate/validate-config.js";
import { formatMs } from "../output.js";

const MARK = { pass: pc.green("✓"), fail: pc.red("✗"), skip: pc.yellow("–") } as const;

/** Human report: one ✓/✗ line per check, grouped by plan, with the file, line and reason. */
export function formatValidateReport(r: ValidateConfigReport): string {
  const lines = [pc.bold("validate-config") + pc.dim(`  templates ${r.templatesDir}  plans ${r.plansFile}`)];
  const groups = new Map<string, CheckResult[]>();
  for (const c of r.checks) {
    const key = c.plan === null ? "all plans" : `plan ${c.plan}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  for (const [name, checks] of groups) {
    lines.push("", pc.bold(name));
    for (const c of checks) lines.push(formatCheck(c));
  }
  const { passed, failed, skipped } = r.summary;
  const compose = r.composeCli.tool
    ? `${r.composeCli.tool} config -q ${formatMs(r.composeCli.durationMs)}`
    : r.composeCli.status === "skip" ? "compose config -q skipped" : "";
  const tally = `${passed} passed, ${failed} failed, ${skipped} skipped`;
  const cached = r.shellcheckCache === "hit" ? " (shellcheck: same script as before, from the cache)" : "";
  lines.push("", `${failed ? pc.red(tally) : pc.green(tally)}` + pc.dim(` · local checks ${formatMs(r.durationMs)}${cached}${compose ? " · " + compose : ""}`));
  return lines.join("\n");
}

function formatCheck(c: CheckResult): string {
  const where = location(c);
  const head = `  ${MARK[c.status]} ${c.title}${where ? pc.dim("  " + where) : ""}`;
  return c.reason ? `${head}\n      ${c.status === "fail" ? pc.red(c.reason) : pc.dim(c.reason)}` : head;
}

function location(c: CheckResult): string {
  if (!c.file) return "";
  const file = path.isAbsolute(c.file) ? path.relative(process.cwd(), c.file) || c.file : c.file;
  if (!c.line) return file;
  return c.lineIn === "rendered" ? `${file} (rendered line ${c.line})` : `${file}:${c.line}`;
}
