import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { getEngine, TemplateError } from "../../../src/render/index.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "cf-engine-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(path.join(dir, "partials"));
const files: Record<string, string> = {
  "ok.hbs": "a={{yq a}} list={{#each l}}{{num this}}{{#unless @last}},{{/unless}}{{/each}}{{#if n}}!{{/if}}\n{{> p x=a}}",
  "partials/p.hbs": "p={{shq x}}",
  "partials/broken.hbs": "line1\n{{shq nope}}",
  "unknown-in-helper.hbs": "ok\n  {{yq missing}}",
  "unknown-plain.hbs": "{{obj.missing}}",
  "uses-broken.hbs": "{{> broken}}",
  "syntax.hbs": "{{#if a}}unclosed",
  "no-partial.hbs": "{{> nothere}}",
  "no-helper.hbs": "{{frobnicate a}}",
  "bare-helper.hbs": "{{shq}}",
};
for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, f), text);
const engine = getEngine(dir);
const view = { a: "x'y", l: [1, 2], n: null, obj: {} };
const fail = (file: string): TemplateError => {
  try {
    engine.render(file, view);
  } catch (err) {
    expect(err).toBeInstanceOf(TemplateError);
    return err as TemplateError;
  }
  throw new Error(`${file} rendered`);
};

describe("template engine", () => {
  it("renders with helpers and partials, and caches per directory", () => {
    expect(engine.render("ok.hbs", view)).toBe(`a="x'y" list=1,2\np='x'\\''y'`);
    expect(getEngine(dir)).toBe(engine);
    expect([...engine.partialsUsedBy("ok.hbs").keys()]).toEqual(["p"]);
  });
  it("names the template, line and variable of an unknown variable, even inside a helper call", () => {
    expect(fail("unknown-in-helper.hbs")).toMatchObject({ file: "unknown-in-helper.hbs", line: 2, variable: "missing", message: 'unknown-in-helper.hbs:2:7: unknown variable "missing"' });
    expect(fail("unknown-plain.hbs")).toMatchObject({ file: "unknown-plain.hbs", line: 1, variable: "missing" });
  });
  it("blames the partial's own file", () => {
    expect(fail("uses-broken.hbs")).toMatchObject({ file: "partials/broken.hbs", line: 2, variable: "nope" });
  });
  it("reports syntax errors, unknown partials and helpers", () => {
    expect(fail("syntax.hbs").message).toMatch(/^syntax\.hbs:1: template syntax error/);
    expect(fail("no-partial.hbs").message).toBe('no-partial.hbs: unknown partial "nothere"');
    expect(fail("no-helper.hbs").message).toMatch(/no-helper\.hbs:1:\d+: unknown variable "frobnicate"/);
    expect(fail("bare-helper.hbs").message).toBe("bare-helper.hbs: shq takes exactly one argument");
    expect(fail("absent.hbs").message).toBe("absent.hbs: cannot read template: ENOENT");
  });
});
