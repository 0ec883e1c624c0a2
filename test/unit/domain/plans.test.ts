import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../../../src/errors.js";
import { defaultPlansFile, defaultTemplatesDir, getPlan, loadPlans, parsePlans, parsePlansOrThrow } from "../../../src/domain/plans.js";

const shipped = readFileSync(path.join(defaultTemplatesDir, "plans.yaml"), "utf8");
const errorsOf = (text: string) => parsePlans(text).errors;
const edit = (from: string, to: string) => {
  expect(shipped).toContain(from);
  return shipped.replace(from, to);
};

describe("plans.yaml", () => {
  it("parses the shipped file with defaults applied", () => {
    const plans = parsePlansOrThrow(shipped, "plans.yaml");
    expect(Object.keys(plans.plans)).toEqual(["free", "pro", "enterprise"]);
    const free = getPlan(plans, "free");
    expect(free).toMatchObject({
      name: "free", memory: "512m", memoryBytes: 512 * 1024 ** 2, cpus: 0.5, pids: 128, dedicatedHost: false,
      expiresAfterMs: 7 * 86_400_000, backups: { schedule: "none", keep: 7 }, healthTimeoutMs: 90_000, dataPath: "/home/node/.openclaw",
      basePort: 18800, portStep: 120, logs: { maxSize: "10m", maxFile: 3 },
      templates: { compose: "compose/free.yml.hbs", env: "env.hbs", provisionSh: "provision.sh.hbs" },
    });
    expect(free.image).toMatch(/^ghcr\.io\/openclaw\/openclaw-gateway:[0-9]/);
    expect(free.healthcheck).toEqual({
      test: ["CMD-SHELL", expect.stringContaining("/healthz")], intervalMs: 5000, timeoutMs: 3000, retries: 3, startPeriodMs: 10_000,
    });
    expect(getPlan(plans, "enterprise")).toMatchObject({ memoryBytes: 4 * 1024 ** 3, backups: { schedule: "daily", keep: 7 }, expiresAfterMs: null });
    expect(plans.health).toEqual({
      failureThreshold: 3, maxRestarts: 3, restartWindowMs: 3_600_000, backoffInitialMs: 60_000, backoffMaxMs: 1_800_000,
      retentionMs: 30 * 86_400_000, sweepSchedule: "*/5 * * * *", reportSchedule: "0 6 * * *",
    });
  });

  it("names the path of each error", () => {
    expect(errorsOf(edit("memory: 2g,", "memory: lots,"))).toEqual(["plans.pro.memory: expected a size like 512m"]);
    expect(errorsOf(edit("healthTimeout: 90s", "healthTimeout: 90"))).toEqual(["defaults.healthTimeout: expected a duration like 90s or 7d"]);
    expect(errorsOf(edit("cpus: 2,", "cpus: two,"))).toEqual(["plans.enterprise.cpus: expected a number of CPUs like 0.5"]);
    expect(errorsOf(edit("pids: 128,", "pids: 1.5,"))).toEqual([expect.stringMatching(/^plans\.free\.pids: expected a whole number/)]);
    expect(errorsOf(edit("version: 1", "version: 2"))).toEqual(["version: expected 1 (the only plans.yaml version)"]);
    expect(errorsOf(edit("memory: 512m,", "memory: 4m,"))).toEqual(["plans.free.memory: must be at least 6m (Docker's minimum)"]);
    expect(errorsOf(edit("  dataPath: /home/node/.openclaw", "  dataPathh: /x"))).toEqual(["defaults.dataPath: required", 'defaults: unknown key "dataPathh"']);
    expect(errorsOf(edit("portStep: 120", "portStep: 100"))).toEqual([expect.stringMatching(/^defaults\.portStep: /)]);
  });

  it("rejects unknown keys at every level", () => {
    expect(errorsOf(edit("dedicatedHost: true }", "dedicatedHost: true, memroy: 3g }"))).toEqual(['plans.pro: unknown key "memroy"']);
    expect(errorsOf(edit("defaults:", "colour: blue\ndefaults:"))).toEqual(['(root): unknown key "colour"']);
    expect(errorsOf(edit("logs: { maxSize: 10m, maxFile: 3 }\n  settable:", "logs: { maxSize: 10m, maxFiles: 3 }\n  settable:"))).toEqual(['defaults.logs: unknown key "maxFiles"']);
    expect(errorsOf(edit("  failureThreshold: 3", "  failureTreshold: 3"))).toEqual(['health: unknown key "failureTreshold"']);
  });

  it("requires pinned images", () => {
    const image = "ghcr.io/openclaw/openclaw-gateway:2026.11.1";
    expect(errorsOf(edit(image, "ghcr.io/openclaw/openclaw-gateway:latest"))[0]).toMatch(/^defaults\.image: .*uses :latest/);
    expect(errorsOf(edit(image, "ghcr.io/openclaw/openclaw-gateway"))[0]).toMatch(/^defaults\.image: .*has no tag/);
    expect(errorsOf(edit(image, `ghcr.io/openclaw/openclaw-gateway@sha256:${"a".repeat(64)}`))).toEqual([]);
    expect(errorsOf(edit("pids: 512,", "pids: 512, image: busybox,"))[0]).toMatch(/^plans\.enterprise\.image: .*has no tag/);
  });

  it("reports YAML syntax errors with a line", () => {
    expect(errorsOf("version: 1\ndefaults: [\n")[0]).toMatch(/^yaml: .*\(line \d+, column \d+\)$/);
    expect(errorsOf("a: 1\na: 2\n")[0]).toMatch(/^yaml: Map keys must be unique \(line 2, column 1\)$/);
    expect(errorsOf(edit("version: 1", "version: 1\nplans: {}"))[0]).toMatch(/^yaml: Map keys must be unique/);
  });

  it("throws InputError with every path: message line", () => {
    const bad = edit("memory: 512m,", "memory: 512,").replace("pids: 256,", "pids: many,");
    expect(() => parsePlansOrThrow(bad, "p.yaml")).toThrow(InputError);
    expect(() => parsePlansOrThrow(bad, "p.yaml")).toThrow(/p\.yaml: invalid plans\n {2}plans\.free\.memory: expected a size like 512m\n {2}plans\.pro\.pids/);
  });

  it("lets a plan override templates and the healthcheck timing", () => {
    const text = edit("backups: daily }", 'backups: daily, templates: { compose: compose/custom.yml.hbs }, healthcheck: { test: ["CMD", "true"], interval: 1s } }');
    const spec = getPlan(parsePlansOrThrow(text), "enterprise");
    expect(spec.templates.compose).toBe("compose/custom.yml.hbs");
    expect(spec.healthcheck).toEqual({ test: ["CMD", "true"], intervalMs: 1000, timeoutMs: 3000, retries: 3, startPeriodMs: 10_000 });
  });

  it("publishes no CDP range unless a plan or defaults set cdpPorts", () => {
    const none = parsePlansOrThrow(shipped);
    expect(Object.values(none.plans).map((p) => p.cdpPorts)).toEqual([false, false, false]);
    const one = parsePlansOrThrow(edit("backups: daily }", "backups: daily, cdpPorts: true }"));
    expect(Object.values(one.plans).map((p) => p.cdpPorts)).toEqual([false, false, true]);
    const all = parsePlansOrThrow(edit("  basePort: 18800", "  cdpPorts: true\n  basePort: 18800").replace("pids: 128,", "pids: 128, cdpPorts: false,"));
    expect(Object.values(all.plans).map((p) => p.cdpPorts)).toEqual([false, true, true]);
    expect(errorsOf(edit("pids: 256,", "pids: 256, cdpPorts: yes please,"))).toEqual(["plans.pro.cdpPorts: expected true or false"]);
  });

  it("takes backups as a schedule or as { schedule, keep }, and names the fix when wrong", () => {
    const long = parsePlansOrThrow(edit("backups: daily }", "backups: { schedule: weekly, keep: 3 } }"));
    expect(getPlan(long, "enterprise").backups).toEqual({ schedule: "weekly", keep: 3 });
    expect(getPlan(long, "pro").backups).toEqual({ schedule: "none", keep: 7 });
    expect(errorsOf(edit("backups: daily }", "backups: hourly }"))[0]).toMatch(/^plans\.enterprise\.backups: expected "daily", "weekly", "none" or \{ schedule/);
    expect(errorsOf(edit("backups: daily }", "backups: { schedule: daily, keep: 0 } }"))[0]).toMatch(/^plans\.enterprise\.backups/);
  });

  it("getPlan names --plan and the known plans", () => {
    const plans = parsePlansOrThrow(shipped);
    expect(() => getPlan(plans, "gold")).toThrow(/--plan: unknown plan "gold"/);
    expect(() => getPlan(plans, "toString")).toThrow(InputError);
  });

  it("loads CLAWFLEET_PLANS or the shipped file", async () => {
    expect(defaultPlansFile({})).toBe(path.join(defaultTemplatesDir, "plans.yaml"));
    expect(defaultPlansFile({ CLAWFLEET_PLANS: "/x/plans.yaml" })).toBe("/x/plans.yaml");
    expect(Object.keys((await loadPlans(defaultPlansFile({}))).plans)).toHaveLength(3);
    await expect(loadPlans("/nonexistent/plans.yaml")).rejects.toThrow(/plans file \/nonexistent\/plans\.yaml: ENOENT/);
  });

  it("parses a file again only when its text changed, and hands out copies", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "cf-plans-"));
    const file = path.join(dir, "plans.yaml");
    writeFileSync(file, shipped);
    const a = await loadPlans(file);
    a.plans.free!.image = "mutated:1";
    expect((await loadPlans(file)).plans.free!.image).not.toBe("mutated:1");
    writeFileSync(file, edit("basePort: 18800", "basePort: 20000"));
    expect((await loadPlans(file)).basePort).toBe(20000);
    rmSync(dir, { recursive: true, force: true });
  });
});
