import { cpSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { validateConfig, type CheckResult } from "../../../../src/app/validate/validate-config.js";
import { defaultTemplatesDir } from "../../../../src/domain/plans.js";

const FIXTURES = path.resolve(import.meta.dirname, "../../../fixtures/validate");
const work = mkdtempSync(path.join(os.tmpdir(), "cf-validate-fixtures-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The shipped templates with the fixture's files laid over them. */
async function validateFixture(name: string) {
  const dir = path.join(work, name);
  cpSync(defaultTemplatesDir, dir, { recursive: true });
  cpSync(path.join(FIXTURES, name), dir, { recursive: true });
  const report = await validateConfig({ templatesDir: dir, plansFile: path.join(dir, "plans.yaml"), composeCli: false, requireShellcheck: false, env: {} });
  return { report, failed: report.checks.filter((c) => c.status === "fail") };
}
const summary = (c: CheckResult) => ({ plan: c.plan, check: c.check, file: c.file, line: c.line, reason: c.reason });

describe("validate-config fixtures: one defect each, each with its own message", () => {
  it("a :latest image", async () => {
    const { report, failed } = await validateFixture("latest-image");
    expect(report.ok).toBe(false);
    expect(failed.map(summary)).toEqual([{
      plan: null, check: "plans.images", file: expect.stringMatching(/plans\.yaml$/), line: undefined,
      reason: 'defaults.image: image "ghcr.io/openclaw/openclaw-gateway:latest" uses :latest; pin a version tag or a digest',
    }]);
  });

  it("a missing healthcheck", async () => {
    const { failed } = await validateFixture("missing-healthcheck");
    expect(failed.map(summary)).toEqual([{ plan: "free", check: "compose.policy.healthcheck", file: "compose/free.yml.hbs", line: 4, reason: "services.gateway.healthcheck: missing (a test is required)" }]);
  });

  it("a missing cap_drop", async () => {
    const { failed } = await validateFixture("missing-cap-drop");
    expect(failed.map(summary)).toEqual([{ plan: "free", check: "compose.policy.cap_drop", file: "compose/free.yml.hbs", line: 4, reason: "services.gateway.cap_drop: must include ALL" }]);
  });

  it("a port bound to 0.0.0.0", async () => {
    const { failed } = await validateFixture("port-all-interfaces");
    expect(failed.map(summary)).toEqual([{
      plan: "free", check: "compose.policy.ports-loopback", file: "compose/free.yml.hbs", line: 22,
      reason: 'services.gateway.ports: "0.0.0.0:18920:18789" must be bound as "127.0.0.1:<host>:<container>"',
    }]);
  });

  it("a missing memory limit", async () => {
    const { failed } = await validateFixture("missing-memory-limit");
    expect(failed.map((c) => c.check)).toEqual(["compose.policy.mem_limit", "compose.policy.memswap_limit"]);
    expect(failed[0]?.reason).toBe("services.gateway.mem_limit: must be 512m");
  });

  it("an unknown template variable", async () => {
    const { failed } = await validateFixture("unknown-template-variable");
    expect(failed.map(summary)).toEqual([{ plan: "free", check: "render.compose", file: "compose/free.yml.hbs", line: 17, reason: 'unknown variable "cpuz"' }]);
  });

  it("a bash syntax error in provision.sh", async () => {
    const { failed } = await validateFixture("bash-syntax-error");
    const syntax = failed.filter((c) => c.check === "provision.syntax");
    expect(syntax.map((c) => c.plan)).toEqual(["free", "pro", "enterprise"]);
    expect(syntax[0]).toMatchObject({ file: "provision.sh.hbs", line: 7, lineIn: "rendered", reason: "syntax error: unexpected end of file" });
    // shellcheck cannot parse it either; nothing else fails.
    expect(new Set(failed.map((c) => c.check))).toEqual(new Set(["provision.syntax", "provision.shellcheck"]));
  });

  it("a shellcheck warning", async () => {
    const { failed } = await validateFixture("shellcheck-warning");
    expect(failed.map(summary)).toEqual(["free", "pro", "enterprise"].map((plan) => ({
      plan, check: "provision.shellcheck", file: "provision.sh.hbs", line: 5,
      reason: "SC2086 (info): Double quote to prevent globbing and word splitting.",
    })));
  });

  it("a YAML syntax error, with its line", async () => {
    const { failed } = await validateFixture("yaml-syntax-error");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      plan: "free", check: "compose.yaml", file: "compose/free.yml.hbs", line: 8, lineIn: "rendered",
      reason: "Nested mappings are not allowed in compact mappings near: read_only: true: false",
    });
  });

  it("an unknown key in plans.yaml", async () => {
    const { failed } = await validateFixture("unknown-plans-key");
    expect(failed.map(summary)).toEqual([{ plan: null, check: "plans.schema", file: expect.stringMatching(/plans\.yaml$/), line: undefined, reason: 'plans.pro: unknown key "memroy"' }]);
  });

  it("a plan without a template", async () => {
    const { failed } = await validateFixture("plan-without-template");
    expect(failed.map(summary)).toEqual([{ plan: "team", check: "templates.present", file: "compose/team.yml.hbs", line: undefined, reason: "plan team has no template compose/team.yml.hbs (file not found)" }]);
  });

  it("a template without a plan", async () => {
    const { failed } = await validateFixture("template-without-plan");
    expect(failed.map(summary)).toEqual([{ plan: null, check: "templates.orphans", file: "compose/gold.yml.hbs", line: undefined, reason: "no plan uses compose/gold.yml.hbs; plans.yaml defines free, pro, enterprise" }]);
  });

  it("a partial that does not parse", async () => {
    const { failed } = await validateFixture("partial-syntax-error");
    expect(failed.map((c) => [c.plan, c.check, c.file, c.line])).toEqual(["free", "pro", "enterprise"].map((p) => [p, "render.partials", "partials/data-volume.hbs", 4]));
    expect(failed[0]?.reason).toMatch(/^template syntax error/);
  });
});
