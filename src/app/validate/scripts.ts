import type { CheckResult, PlanRender } from "./plan.js";
import type { ShellcheckComment } from "./tools.js";

const MAX_COMMENTS_PER_PLAN = 10;

/**
 * Runs shellcheck once, over one script per group of plans whose scripts differ only inside
 * single-quoted literals (the values `shq` inserts), which cannot change what shellcheck finds.
 * With the shipped templates that is one script instead of three: shellcheck costs ~0.2 s a script.
 */
export async function checkShellcheck(
  scripts: (PlanRender & { provisionSh: string })[],
  files: Map<string, string>,
  run: (bin: string, files: string[]) => Promise<ShellcheckComment[] | null>,
  o: { shellcheckBin: string; requireShellcheck: boolean },
): Promise<Map<string, CheckResult[]>> {
  const results = new Map<string, CheckResult[]>();
  const groups = new Map<string, { file: string; plans: PlanRender[] }>();
  for (const r of scripts) {
    const shape = `${r.spec.templates.provisionSh}\n${r.provisionSh.replace(/'[^'\n]*'/g, "''")}`;
    const group = groups.get(shape);
    if (group) group.plans.push(r);
    else groups.set(shape, { file: files.get(r.spec.name) as string, plans: [r] });
  }
  let comments: ShellcheckComment[] | null;
  let failure: string | null = null;
  try {
    comments = await run(o.shellcheckBin, [...groups.values()].map((g) => g.file));
  } catch (err) {
    comments = [];
    failure = err instanceof Error ? err.message : String(err);
  }
  for (const group of groups.values()) {
    for (const r of group.plans) {
      const base = { plan: r.spec.name, check: "provision.shellcheck", title: "shellcheck", file: r.spec.templates.provisionSh };
      const list: CheckResult[] = [];
      results.set(r.spec.name, list);
      const push = (c: Omit<CheckResult, "plan" | "check" | "title" | "file">) => list.push({ ...base, ...c });
      if (failure) push({ status: "fail", reason: failure });
      else if (comments === null) {
        push(o.requireShellcheck
          ? { status: "fail", reason: "shellcheck is not installed, and CI requires it" }
          : { status: "skip", reason: "shellcheck is not installed (install it: CI fails without it)" });
      } else {
        const mine = comments.filter((c) => c.file === group.file);
        for (const c of mine.slice(0, MAX_COMMENTS_PER_PLAN)) {
          push({ status: "fail", line: c.line, lineIn: "rendered", reason: `SC${c.code} (${c.level}): ${c.message}` });
        }
        if (mine.length > MAX_COMMENTS_PER_PLAN) push({ status: "fail", reason: `and ${mine.length - MAX_COMMENTS_PER_PLAN} more shellcheck findings` });
        if (mine.length === 0) push({ status: "pass" });
      }
    }
  }
  return results;
}
