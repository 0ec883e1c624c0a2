import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { prepareCommand } from "../../../../src/remote/commands/instance.js";
import { EXIT_STAGE_FAILED, stageFilesLines, stageFilesStdin, uploadScript } from "../../../../src/remote/commands/stage-files.js";

const root = mkdtempSync(path.join(os.tmpdir(), "cf-stage-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const SECRET = "OPENCLAW_GATEWAY_TOKEN=" + "ab".repeat(32);

function filesIn(dir: string) {
  return [
    { path: `${dir}/docker-compose.yml`, content: "services: {}\n", mode: 0o644 },
    { path: `${dir}/.env`, content: `${SECRET}\n`, mode: 0o600 },
    { path: `${dir}/provision.sh`, content: Buffer.from("#!/usr/bin/env bash\necho 'ünïcode' \"$HOME\"\n"), mode: 0o700 },
  ];
}

describe.each(["sh", "bash"])("staging files over stdin with %s", (shell) => {
  it("writes each file with its mode and exact bytes, leaving no temp behind", () => {
    const dir = path.join(root, shell, "ok");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, ".env"), "OLD=1\n");
    const files = filesIn(dir);
    const r = spawnSync(shell, ["-c", ["set -eu", ...stageFilesLines(files)].join("\n")], { input: stageFilesStdin(files), encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    for (const f of files) {
      expect(readFileSync(f.path)).toEqual(Buffer.from(f.content));
      expect(statSync(f.path).mode & 0o777).toBe(f.mode);
    }
    expect(readdirSync(dir).sort()).toEqual([".env", "docker-compose.yml", "provision.sh"]);
  });

  it("exits 65 when a file cannot be written, and leaves the previous file whole", () => {
    const dir = path.join(root, shell, "ro");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, ".env"), "OLD=1\n");
    chmodSync(dir, 0o500);
    const files = filesIn(dir);
    const r = spawnSync(shell, ["-c", ["set -eu", ...stageFilesLines(files)].join("\n")], { input: stageFilesStdin(files), encoding: "utf8", uid: process.getuid?.() === 0 ? 65534 : undefined });
    chmodSync(dir, 0o700);
    expect(r.status).toBe(EXIT_STAGE_FAILED);
    expect(r.stderr).toContain(`cannot write ${dir}/docker-compose.yml`);
    expect(readFileSync(path.join(dir, ".env"), "utf8")).toBe("OLD=1\n");
  });
});

describe("prepareCommand with files", () => {
  const files = filesIn("/srv/cf/instances/acme/.staged");
  const script = prepareCommand("/srv/cf", "acme", files);

  it("carries paths and modes only: the contents go on stdin", () => {
    expect(script).toContain("cf_stage '/srv/cf/instances/acme/.staged/.env' 0600");
    expect(script).not.toContain(SECRET);
    expect(script).not.toContain(Buffer.from(SECRET).toString("base64").slice(0, 20));
    expect(stageFilesStdin(files).split("\n")).toHaveLength(4);
  });

  it("is valid POSIX sh and shellcheck-clean", () => {
    expect(spawnSync("dash", ["-n"], { input: script }).status).toBe(0);
    const sc = spawnSync("shellcheck", ["-s", "sh", "-"], { input: script, encoding: "utf8" });
    if (sc.error && process.env.CI !== "true") return;
    expect(sc.stdout).toBe("");
  });
});

describe("uploadScript (uploads over exec, for hosts without SFTP)", () => {
  it("replaces an existing target with the new bytes and mode, leaving no temp, from stdin alone", () => {
    const dir = path.join(root, "upload");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, ".env"), "OLD=1\n", { mode: 0o644 });
    const files = filesIn(dir);
    const script = uploadScript(files);
    expect(script).not.toContain(SECRET);
    expect(script).not.toContain(Buffer.from(SECRET).toString("base64").slice(0, 20));
    const r = spawnSync("sh", ["-c", script], { input: stageFilesStdin(files), encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    for (const f of files) {
      expect(readFileSync(f.path)).toEqual(Buffer.from(f.content));
      expect(statSync(f.path).mode & 0o777).toBe(f.mode);
    }
    expect(readdirSync(dir).sort()).toEqual([".env", "docker-compose.yml", "provision.sh"]);
  });

  it("fails with 65 and names the file when its stdin is cut short, keeping the old file", () => {
    const dir = path.join(root, "cut");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, ".env"), "OLD=1\n");
    const files = [{ path: `${dir}/.env`, content: "NEW=1\n", mode: 0o600 }];
    const r = spawnSync("sh", ["-c", uploadScript(files)], { input: stageFilesStdin(files).slice(0, 3), encoding: "utf8" });
    expect(r.status).toBe(EXIT_STAGE_FAILED);
    expect(r.stderr).toContain(`cannot write ${dir}/.env`);
    expect(readFileSync(path.join(dir, ".env"), "utf8")).toBe("OLD=1\n");
    expect(readdirSync(dir)).toEqual([".env"]);
  });

  it("is valid POSIX sh and shellcheck-clean", () => {
    const script = uploadScript(filesIn("/srv/cf/x"));
    expect(spawnSync("dash", ["-n"], { input: script }).status).toBe(0);
    const sc = spawnSync("shellcheck", ["-s", "sh", "-"], { input: script, encoding: "utf8" });
    if (sc.error && process.env.CI !== "true") return;
    expect(sc.stdout).toBe("");
  });
});
