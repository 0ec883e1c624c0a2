import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../../../../src/app/validate/validate-config.js";
import { defaultPlansFile, defaultTemplatesDir } from "../../../../src/domain/plans.js";

const dir = mkdtempSync(join(tmpdir(), "cf-validate-ingress-"));
const plansWith = (name: string, ingress: string) => {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `${readFileSync(defaultPlansFile({}), "utf8")}\ningress:\n${ingress}`);
  return file;
};
const good = plansWith("good", "  domain: clawdet.example\n  tls: internal\n  image: caddy:2.8.4\n");
const haveCaddy = !spawnSync("caddy", ["version"]).error;
const ingressChecks = (r: Awaited<ReturnType<typeof validateConfig>>) => r.checks.filter((c) => c.check.startsWith("ingress."));

describe("validate-config with an ingress section", () => {
  it("renders the proxy files and a sample site, checks the compose file, and runs caddy adapt --validate", async () => {
    const r = await validateConfig({ plansFile: good, composeCli: false, requireShellcheck: false, requireCaddy: process.env.CI === "true" });
    expect(ingressChecks(r).map((c) => `${c.check}:${c.status}`)).toEqual(["ingress.render:pass", "ingress.compose:pass", `ingress.caddy:${haveCaddy ? "pass" : "skip"}`]);
    expect(r.ok).toBe(true);
  });

  it("lints the provision.sh that carries the proxy steps", async () => {
    const r = await validateConfig({ plansFile: good, composeCli: false, requireShellcheck: false, cache: false });
    expect(r.checks.filter((c) => c.check === "provision.shellcheck").every((c) => c.status !== "fail")).toBe(true);
  });

  it("reports a missing caddy as skipped, and as failed under CI", async () => {
    const skipped = await validateConfig({ plansFile: good, composeCli: false, requireShellcheck: false, caddyBin: "/nonexistent/caddy", requireCaddy: false });
    expect(ingressChecks(skipped).find((c) => c.check === "ingress.caddy")).toMatchObject({ status: "skip", reason: "caddy is not installed (install it: CI fails without it)" });
    const ci = await validateConfig({ plansFile: good, composeCli: false, requireShellcheck: false, caddyBin: "/nonexistent/caddy", env: { CI: "true" } });
    expect(ci.ok).toBe(false);
    expect(ingressChecks(ci).find((c) => c.check === "ingress.caddy")).toMatchObject({ status: "fail", reason: "caddy is not installed, and CI requires it" });
  });

  it("fails tls: acme without acmeEmail, an unpinned image and a bad domain, naming each path", async () => {
    const r = await validateConfig({ plansFile: plansWith("bad", "  domain: Bad_Domain\n  tls: acme\n  image: caddy:latest\n"), composeCli: false, requireShellcheck: false });
    expect(r.ok).toBe(false);
    const reasons = r.checks.filter((c) => c.status === "fail").map((c) => c.reason);
    expect(reasons).toEqual(expect.arrayContaining([
      expect.stringMatching(/^ingress\.domain: /),
      expect.stringMatching(/^ingress\.image: .*:latest/),
      "ingress.acmeEmail: required with tls: acme (Let's Encrypt sends expiry notices there)",
    ]));
  });

  it.skipIf(!haveCaddy)("catches a site template Caddy rejects", async () => {
    const templates = join(dir, "templates");
    cpSync(defaultTemplatesDir, templates, { recursive: true });
    const partial = join(templates, "partials/caddy-upstream.hbs");
    writeFileSync(partial, readFileSync(partial, "utf8").replace("reverse_proxy 127.0.0.1:{{num gatewayPort}} {", "reverse_proxy 127.0.0.1:{{num gatewayPort}} {\n\t\t\tno_such_subdirective on"));
    const r = await validateConfig({ templatesDir: templates, plansFile: good, composeCli: false, requireShellcheck: false });
    expect(ingressChecks(r).find((c) => c.check === "ingress.caddy")).toMatchObject({ status: "fail", reason: expect.stringContaining("unrecognized subdirective no_such_subdirective") });
  });
});
