import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../../../src/cli/main.js";

const FIXTURES = path.resolve(import.meta.dirname, "../../../fixtures/validate");

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation((s) => (out.push(String(s)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((s) => (err.push(String(s)), true));
  // Colours are on under CI=true (picocolors); assertions read the plain text.
  const plain = (parts: string[]) => stripVTControlCharacters(parts.join(""));
  return { out: () => plain(out), err: () => plain(err) };
}
afterEach(() => vi.restoreAllMocks());

describe("clawfleet validate-config", () => {
  it("--json writes one document and exits 0 on the shipped templates", async () => {
    const io = capture();
    const code = await main(["node", "clawfleet", "validate-config", "--json", "--no-compose-cli"]);
    const text = io.out();
    expect(text.trim().split("\n")).toHaveLength(1);
    const doc = JSON.parse(text) as { ok: boolean; checks: unknown[]; durationMs: number };
    expect(doc.ok).toBe(true);
    expect(doc.checks.length).toBeGreaterThan(30);
    expect(code).toBe(0);
  });

  it("prints ✗ with the file, line and reason, and exits 2 on a defect", async () => {
    const io = capture();
    const plans = path.join(FIXTURES, "unknown-plans-key", "plans.yaml");
    const code = await main(["node", "clawfleet", "validate-config", "--plans", plans, "--no-compose-cli"]);
    expect(code).toBe(2);
    expect(io.out()).toContain("✗ plans.yaml schema");
    expect(io.out()).toContain('plans.pro: unknown key "memroy"');
    expect(io.out()).toMatch(/0 passed|\d+ passed, 1 failed/);
  });
});
