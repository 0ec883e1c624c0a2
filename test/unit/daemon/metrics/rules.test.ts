import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { createMetrics } from "../../../../src/daemon/metrics/registry.js";
import { packageRoot } from "../../../../src/paths.js";

const file = path.join(packageRoot, "scripts/prometheus/clawfleet.rules.yml");

describe("the example alert rules", () => {
  it("use only metrics the daemon exports", async () => {
    const doc = parse(readFileSync(file, "utf8")) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const text = await createMetrics({ version: "0", plans: ["free"], snapshot: async () => ({ instances: [], hosts: { active: 0, down: 0, drained: 0 }, quarantined: 0, backupsOverdue: 0, oldestLastBackupAgeSec: 0 }) }).registry.metrics();
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThan(5);
    for (const r of rules) for (const name of r.expr.match(/clawfleet_[a-z_]+/g) ?? []) expect(text, `${r.alert} uses ${name}`).toMatch(new RegExp(`^${name}[{ ]`, "m"));
  });

  it("pass promtool check rules, when promtool is installed", () => {
    if (spawnSync("sh", ["-c", "command -v promtool"]).status !== 0) {
      // .ci/run installs it, so there a missing promtool is a failure.
      if (process.env.CI === "true") throw new Error("promtool is missing under CI=true: .ci/run installs Debian's prometheus package");
      console.warn("\n!!! promtool is not installed (Debian: apt-get install prometheus): the rules file's syntax was not checked by promtool\n");
      return;
    }
    expect(execFileSync("promtool", ["check", "rules", file], { encoding: "utf8" })).toMatch(/SUCCESS/);
  });
});
