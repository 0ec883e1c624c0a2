import { describe, expect, it } from "vitest";
import { validateConfig } from "../../../../src/app/validate/validate-config.js";

describe("validateConfig on the shipped templates", () => {
  it("passes every check for every plan", async () => {
    const report = await validateConfig({ composeCli: false, requireShellcheck: process.env.CI === "true" });
    const failed = report.checks.filter((c) => c.status === "fail");
    expect(failed).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.plans).toEqual(["free", "pro", "enterprise"]);
    for (const plan of report.plans) {
      const ids = report.checks.filter((c) => c.plan === plan).map((c) => c.check);
      expect(ids).toEqual([
        "templates.present", "render.compose", "render.env", "render.provision", "compose.yaml", "compose.schema",
        "compose.policy", "env.vars", "provision.result-line", "provision.syntax", "provision.shellcheck",
      ]);
    }
    expect(report.checks.filter((c) => c.plan === null).map((c) => c.check)).toEqual(["plans.schema", "plans.images", "secrets.token", "templates.orphans"]);
    expect(report.composeCli).toEqual({ tool: null, status: "skip", durationMs: 0 });
  });

  it("reports a missing shellcheck as skipped, and as failed under CI", async () => {
    const skipped = await validateConfig({ composeCli: false, shellcheckBin: "/nonexistent/shellcheck", requireShellcheck: false });
    expect(skipped.ok).toBe(true);
    expect(skipped.checks.filter((c) => c.check === "provision.shellcheck").map((c) => c.status)).toEqual(["skip", "skip", "skip"]);
    expect(skipped.summary.skipped).toBe(3);
    const ci = await validateConfig({ composeCli: false, shellcheckBin: "/nonexistent/shellcheck", env: { CI: "true" } });
    expect(ci.ok).toBe(false);
    expect(ci.checks.find((c) => c.check === "provision.shellcheck")).toMatchObject({ status: "fail", reason: "shellcheck is not installed, and CI requires it" });
  });

  it("runs compose config -q when Compose is installed, timed apart", async () => {
    const report = await validateConfig({ requireShellcheck: false });
    const compose = report.checks.filter((c) => c.check === "compose.config");
    expect(compose).toHaveLength(3);
    if (report.composeCli.tool === null) {
      expect(compose.every((c) => c.status === "skip")).toBe(true);
      return;
    }
    expect(compose.map((c) => c.status)).toEqual(["pass", "pass", "pass"]);
    expect(report.composeCli.status).toBe("pass");
    expect(report.composeCli.durationMs).toBeGreaterThan(0);
  });
});
