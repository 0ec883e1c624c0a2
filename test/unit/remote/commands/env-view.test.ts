import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { envViewCommand, parseEnvView } from "../../../../src/remote/commands/env-view.js";

const TOKEN = "7".repeat(64);
const KEY = "sk-ant-very-secret-1";
const root = mkdtempSync(path.join(os.tmpdir(), "cf-envview-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/** Runs the command under sh as a host would, against a real .env. */
function view(env: string | null, shown: string[]) {
  const dir = path.join(root, "instances", "acme");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (env !== null) writeFileSync(path.join(dir, ".env"), env, { mode: 0o600 });
  const stdout = execFileSync("sh", ["-c", envViewCommand(root, "acme", shown)], { encoding: "utf8" });
  return { stdout, view: parseEnvView(stdout, shown) };
}

describe("envViewCommand", () => {
  it("lists every key, shows only the settable ones, and hashes the secrets on the host", () => {
    const { stdout, view: v } = view(`# comment\nOPENCLAW_GATEWAY_TOKEN=${TOKEN}\nANTHROPIC_API_KEY=${KEY}\nOPENCLAW_LOG_LEVEL=debug\nHAND_ADDED=hunter2\n`, ["OPENCLAW_LOG_LEVEL"]);
    expect(v).toEqual({
      file: "present", mode: "600", keys: ["OPENCLAW_GATEWAY_TOKEN", "ANTHROPIC_API_KEY", "OPENCLAW_LOG_LEVEL", "HAND_ADDED"],
      values: { OPENCLAW_LOG_LEVEL: "debug" }, tokenSha256: sha(TOKEN), apiKeySha256: sha(KEY),
    });
    // Nothing secret leaves the host, including a hand-added value nobody declared.
    for (const secret of [TOKEN, KEY, "hunter2"]) expect(stdout).not.toContain(secret);
  });

  it("says missing without a .env", () => {
    expect(view(null, []).view).toMatchObject({ file: "missing", keys: [], tokenSha256: null });
  });

  it("never takes a value for a key it did not ask for, and ignores names that are not variables", () => {
    expect(parseEnvView("env=present mode=600\nvalue=SECRET=x\n", ["OPENCLAW_LOG_LEVEL"]).values).toEqual({});
    expect(envViewCommand(root, "acme", ["A|B", "OK_1"])).toContain("'^(OK_1)='");
  });
});
