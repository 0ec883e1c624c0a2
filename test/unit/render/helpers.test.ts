import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { cq, envv, num, shq, size, yq } from "../../../src/render/helpers.js";

const HOSTILE = [
  "plain", "", "it's", "'", "''", `"double"`, "$(touch /tmp/pwned)", "`id`", "${HOME}", "$HOME", "a\nb", "a\r\nb", "\t tab",
  "back\\slash", "semi; rm -rf /", "glob *", "#comment", "- list", ": colon", "{flow}", "[x]", "&anchor", "!tag", "null", "true",
  "0755", "1e3", "ünïcödé", "emoji 🦀", "\u2028sep", "\u007fdel", "\u0085nel", "bell\u0007",
];

describe("shq", () => {
  it("makes every string one inert shell word", () => {
    for (const s of HOSTILE) {
      // printf %s through a real bash: the output must be the input, and nothing may run.
      const out = execFileSync("bash", ["-c", `printf %s ${shq(s)}`], { encoding: "utf8" });
      expect(out).toBe(s);
    }
  });
  it("quotes numbers and rejects NUL and non-scalars", () => {
    expect(shq(90)).toBe("'90'");
    expect(() => shq("a\0b")).toThrow(/NUL/);
    expect(() => shq(undefined)).toThrow(TypeError);
    expect(() => shq({})).toThrow(TypeError);
  });
});

describe("yq", () => {
  it("round-trips every string through a YAML parser as a string", () => {
    for (const s of HOSTILE) {
      const doc = parse(`key: ${yq(s)}\n`) as { key: unknown };
      expect(doc.key).toBe(s);
      expect(yq(s)).toMatch(/^"[\x20-\x7e]*"$/);
    }
  });
  it("keeps a value on its line whatever it holds", () => {
    const doc = parse(`a: ${yq("x\nb: injected")}\nc: 1\n`) as Record<string, unknown>;
    expect(doc).toEqual({ a: "x\nb: injected", c: 1 });
  });
});

describe("cq", () => {
  it("doubles $ so Compose does not interpolate", () => {
    expect(cq("a $HOME ${X} $$")).toBe('"a $$HOME $${X} $$$$"');
    expect(parse(`k: ${cq("$(id)")}`)).toEqual({ k: "$$(id)" });
  });
});

describe("envv", () => {
  it("passes token- and key-shaped values unquoted", () => {
    expect(envv("a".repeat(64))).toBe("a".repeat(64));
    expect(envv("sk-ant-api03-AbC_dEf-123")).toBe("sk-ant-api03-AbC_dEf-123");
  });
  it("refuses values .env cannot carry, without echoing them", () => {
    for (const s of ["with space", "quo'te", 'quo"te', "$VAR", "a\nB=1", "#x", "back\\slash", "`x`"]) {
      expect(() => envv(s)).toThrow(TypeError);
      try {
        envv(s);
      } catch (err) {
        expect((err as Error).message).not.toContain(s);
      }
    }
  });
});

describe("num and size", () => {
  it("print only numbers and Docker sizes", () => {
    expect(num(0.5)).toBe("0.5");
    expect(() => num("128")).toThrow(TypeError);
    expect(() => num(Number.NaN)).toThrow(TypeError);
    expect(size("64m")).toBe("64m");
    expect(() => size("64m,exec")).toThrow(TypeError);
  });
});
