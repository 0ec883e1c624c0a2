import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { validateConfig } from "../../../../src/app/validate/validate-config.js";
import { defaultTemplatesDir } from "../../../../src/domain/plans.js";

const work = mkdtempSync(path.join(os.tmpdir(), "cf-validate-cache-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const FIXTURES = path.resolve(import.meta.dirname, "../../../fixtures/validate");
const haveShellcheck = (await validateConfig({ composeCli: false, cache: false, requireShellcheck: false })).summary.skipped === 0;
const env = { PATH: process.env.PATH };
const statuses = (r: Awaited<ReturnType<typeof validateConfig>>) => r.checks.map((c) => `${c.plan}:${c.check}:${c.status}:${c.line ?? ""}:${c.reason ?? ""}`);

describe.skipIf(!haveShellcheck && process.env.CI !== "true")("validate-config's shellcheck cache", () => {
  it("checks a script once, then answers the same findings from the cache", async () => {
    const cacheDir = path.join(work, "c1");
    const first = await validateConfig({ composeCli: false, cacheDir, env });
    expect(first.shellcheckCache).toBe("miss");
    expect(readdirSync(path.join(cacheDir, "shellcheck"))).toHaveLength(1);
    const second = await validateConfig({ composeCli: false, cacheDir, env });
    expect(second.shellcheckCache).toBe("hit");
    expect(statuses(second)).toEqual(statuses(first));
    expect((await validateConfig({ composeCli: false, cacheDir, env, cache: false })).shellcheckCache).toBe("off");
  });

  it("never hides a finding: a script with a warning fails from the cache as it did fresh", async () => {
    const dir = path.join(work, "warn");
    cpSync(defaultTemplatesDir, dir, { recursive: true });
    cpSync(path.join(FIXTURES, "shellcheck-warning"), dir, { recursive: true });
    const cacheDir = path.join(work, "c2");
    const opts = { templatesDir: dir, plansFile: path.join(dir, "plans.yaml"), composeCli: false, cacheDir, env };
    const fresh = await validateConfig(opts);
    const cached = await validateConfig(opts);
    expect(cached.shellcheckCache).toBe("hit");
    expect(cached.ok).toBe(false);
    expect(cached.checks.filter((c) => c.status === "fail" && c.check === "provision.shellcheck")).toHaveLength(3);
    expect(statuses(cached)).toEqual(statuses(fresh));
  });

  it("misses when the script, the shellcheck binary or the entry changes", async () => {
    const cacheDir = path.join(work, "c3");
    expect((await validateConfig({ composeCli: false, cacheDir, env })).shellcheckCache).toBe("miss");
    // Another script: the warning fixture, same cache.
    const dir = path.join(work, "warn2");
    cpSync(defaultTemplatesDir, dir, { recursive: true });
    cpSync(path.join(FIXTURES, "shellcheck-warning"), dir, { recursive: true });
    expect((await validateConfig({ templatesDir: dir, plansFile: path.join(dir, "plans.yaml"), composeCli: false, cacheDir, env })).shellcheckCache).toBe("miss");
    // Another binary (a wrapper elsewhere) is another shellcheck as far as the cache knows.
    const bin = path.join(work, "bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(path.join(bin, "shellcheck"), `#!/bin/sh\nPATH=${JSON.stringify(process.env.PATH)} exec shellcheck "$@"\n`, { mode: 0o755 });
    const other = await validateConfig({ composeCli: false, cacheDir, env, shellcheckBin: path.join(bin, "shellcheck") });
    expect(other.shellcheckCache).toBe("miss");
    expect(other.ok).toBe(true);
    // A damaged entry is a miss, and the check runs again.
    const entries = path.join(cacheDir, "shellcheck");
    for (const f of readdirSync(entries)) writeFileSync(path.join(entries, f), "{not json");
    const again = await validateConfig({ composeCli: false, cacheDir, env });
    expect(again.shellcheckCache).toBe("miss");
    expect(again.ok).toBe(true);
  });
});
