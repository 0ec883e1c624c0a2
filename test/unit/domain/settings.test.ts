import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../../../src/errors.js";
import { defaultTemplatesDir, getPlan, parsePlans, parsePlansOrThrow } from "../../../src/domain/plans.js";
import { checkChanges, droppedSettings, effectiveSettings, keptSettings, parseStoredSettings, splitAssignments, storeSettings } from "../../../src/domain/settings.js";
import { renderInstance, renderSampleContext } from "../../../src/render/index.js";

const shipped = readFileSync(path.join(defaultTemplatesDir, "plans.yaml"), "utf8");
const pro = getPlan(parsePlansOrThrow(shipped), "pro");
const withSettable = (yaml: string) => shipped.replace("plans:\n", `plans:\n  custom: { memory: 1g, cpus: 1, pids: 128, dedicatedHost: false, settable: ${yaml} }\n`);
const thrown = (fn: () => unknown): InputError => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error("did not throw");
};

describe("settable variables in plans.yaml", () => {
  it("merges defaults' and the plan's by name; the shipped file makes OPENCLAW_LOG_LEVEL settable", () => {
    expect(pro.settable).toEqual({ OPENCLAW_LOG_LEVEL: { default: "info", pattern: "debug|info|warn|error", description: expect.any(String) } });
    const plans = parsePlansOrThrow(withSettable("{ OPENCLAW_LOG_LEVEL: { default: warn }, OPENCLAW_REGION: { pattern: '[a-z]{2}-[a-z]+' } }"));
    expect(getPlan(plans, "custom").settable).toEqual({
      OPENCLAW_LOG_LEVEL: { default: "warn", pattern: null, description: null },
      OPENCLAW_REGION: { default: null, pattern: "[a-z]{2}-[a-z]+", description: null },
    });
  });

  it("refuses secret-looking names, bad names, bad patterns and defaults that break their pattern", () => {
    const errors = parsePlans(withSettable("{ STRIPE_API_KEY: {}, DB_PASSWORD: {}, lower: {}, X: { pattern: '(' }, Y: { default: nope, pattern: 'a|b' }, Z: { default: 'a b' } }")).errors.join("\n");
    expect(errors).toMatch(/plans\.custom\.settable\.STRIPE_API_KEY: looks like a secret/);
    expect(errors).toMatch(/plans\.custom\.settable\.DB_PASSWORD: looks like a secret/);
    expect(errors).toMatch(/plans\.custom\.settable\.lower: expected an environment variable name/);
    expect(errors).toMatch(/plans\.custom\.settable\.X\.pattern: not a valid regular expression/);
    expect(errors).toMatch(/plans\.custom\.settable\.Y\.default: does not match its pattern a\|b/);
    expect(errors).toMatch(/plans\.custom\.settable\.Z\.default: has characters a \.env cannot carry/);
  });
});

describe("config set input", () => {
  it("accepts a settable key whose whole value matches the pattern", () => {
    expect(checkChanges(pro, { OPENCLAW_LOG_LEVEL: "debug" })).toEqual({ OPENCLAW_LOG_LEVEL: "debug" });
    // The pattern is anchored: a match inside the value is not enough.
    expect(thrown(() => checkChanges(pro, { OPENCLAW_LOG_LEVEL: "debugx" })).message).toMatch(/OPENCLAW_LOG_LEVEL: the value does not match/);
  });

  it("refuses the token (rotate-token), the API key (a file), unknown keys and bad values, naming the allowed keys and never a value", () => {
    const token = thrown(() => checkChanges(pro, { OPENCLAW_GATEWAY_TOKEN: "f".repeat(64) }));
    expect(token.message).toContain("OPENCLAW_GATEWAY_TOKEN: cannot be set");
    expect(token.hint).toContain("rotate-token");
    expect(token.hint).toContain("settable in plan pro: OPENCLAW_LOG_LEVEL");
    const key = thrown(() => checkChanges(pro, { ANTHROPIC_API_KEY: "sk-ant-secret-123" }));
    expect(key.hint).toContain("--api-key-file");
    const many = thrown(() => checkChanges(pro, { NOPE: "sk-ant-secret-456", OPENCLAW_LOG_LEVEL: "loud;rm" }));
    expect(many.message).toMatch(/NOPE: not settable in plan pro; OPENCLAW_LOG_LEVEL: the value has characters/);
    for (const e of [token, key, many]) expect(JSON.stringify([e.message, e.hint])).not.toMatch(/sk-ant|fffff|loud/);
  });

  it("splits KEY=VALUE arguments without echoing values", () => {
    expect(splitAssignments(["A=1", "B==x="])).toEqual({ A: "1", B: "=x=" });
    const e = thrown(() => splitAssignments(["sk-ant-oops", "A=1", "A=2"]));
    expect(e.message).toBe("config set: an argument: expected KEY=VALUE; A: given twice");
  });
});

describe("effective settings", () => {
  it("takes stored values the plan accepts, else defaults, and drops the rest", () => {
    const stored = { OPENCLAW_LOG_LEVEL: "loud", GONE: "x" };
    expect(effectiveSettings(pro, {})).toEqual({ OPENCLAW_LOG_LEVEL: "info" });
    expect(effectiveSettings(pro, { OPENCLAW_LOG_LEVEL: "warn" })).toEqual({ OPENCLAW_LOG_LEVEL: "warn" });
    expect(effectiveSettings(pro, stored)).toEqual({ OPENCLAW_LOG_LEVEL: "info" });
    expect(droppedSettings(pro, stored)).toEqual(["GONE", "OPENCLAW_LOG_LEVEL"]);
    expect(keptSettings(pro, { ...stored, OPENCLAW_LOG_LEVEL: "warn" })).toEqual({ OPENCLAW_LOG_LEVEL: "warn" });
  });

  it("round-trips through the DB column as sorted JSON, null when empty", () => {
    expect(storeSettings({})).toBeNull();
    expect(storeSettings({ B: "2", A: "1" })).toBe('{"A":"1","B":"2"}');
    expect(parseStoredSettings('{"A":"1","B":2}')).toEqual({ A: "1" });
    expect(parseStoredSettings("not json")).toEqual({});
  });

  it("reach the .env and the config hash; the same values give the same hash", () => {
    const base = renderInstance(renderSampleContext(pro));
    const debug = renderInstance(renderSampleContext(pro, { settings: { OPENCLAW_LOG_LEVEL: "debug" } }));
    expect(base.files.env).toMatch(/^OPENCLAW_LOG_LEVEL=info$/m);
    expect(debug.files.env).toMatch(/^OPENCLAW_LOG_LEVEL=debug$/m);
    expect(debug.configHash).not.toBe(base.configHash);
    expect(renderInstance(renderSampleContext(pro, { settings: { OPENCLAW_LOG_LEVEL: "debug" } })).configHash).toBe(debug.configHash);
    expect(() => renderInstance(renderSampleContext(pro, { settings: { OPENCLAW_GATEWAY_TOKEN: "x" } }))).toThrow(/settings[^\n]*(reserved|Invalid key)/);
  });
});
