import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { dockerCheckCommand, parseDockerCheck } from "../../../../src/remote/commands/host-check.js";
import type { ExecResult } from "../../../../src/remote/types.js";

const result = (stdout: string, extra: Partial<ExecResult> = {}): ExecResult => ({ stdout, stderr: "", code: 0, timedOut: false, ...extra });

describe("dockerCheckCommand", () => {
  it("prints the host's MemTotal in MB before anything can exit, here matching /proc/meminfo", () => {
    const kb = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"))![1]);
    // A PATH with awk but no docker: the check stops early, so the memory line must come first.
    const bin = mkdtempSync(path.join(os.tmpdir(), "cf-hostcheck-"));
    onTestFinished(() => rmSync(bin, { recursive: true, force: true }));
    symlinkSync(spawnSync("sh", ["-c", "command -v awk"], { encoding: "utf8" }).stdout.trim(), path.join(bin, "awk"));
    const r = spawnSync("/bin/sh", ["-c", dockerCheckCommand()], { encoding: "utf8", env: { PATH: bin } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^mem=\d+\ndocker=missing\n$/);
    const mem = /^mem=(\d+)$/m.exec(r.stdout)?.[1];
    expect(Number(mem)).toBe(Math.floor(kb / 1024));
    expect(parseDockerCheck(result(r.stdout)).memTotalMb).toBe(Math.floor(kb / 1024));
  });

  it("is valid POSIX sh and shellcheck-clean", () => {
    expect(spawnSync("dash", ["-n"], { input: dockerCheckCommand() }).status).toBe(0);
    const sc = spawnSync("shellcheck", ["-s", "sh", "-"], { input: dockerCheckCommand(), encoding: "utf8" });
    if (sc.error && process.env.CI !== "true") return;
    expect(sc.stdout).toBe("");
  });
});

describe("parseDockerCheck", () => {
  it("reads docker, compose and memory from one output", () => {
    expect(parseDockerCheck(result("mem=3936\ndocker=ok 20.10.24\ncompose=v2\n"))).toEqual({ ok: true, detail: "docker 20.10.24, compose v2", memTotalMb: 3936 });
  });

  it("reports the memory even when docker is missing or denied", () => {
    expect(parseDockerCheck(result("mem=512\ndocker=missing\n"))).toMatchObject({ ok: false, memTotalMb: 512 });
    expect(parseDockerCheck(result("mem=1024\ndocker=denied permission denied\ncompose=v1\n"))).toMatchObject({ ok: false, memTotalMb: 1024 });
  });

  it("gives null when /proc/meminfo could not be read", () => {
    expect(parseDockerCheck(result("mem=\ndocker=ok 24.0.5\ncompose=v2\n")).memTotalMb).toBeNull();
    expect(parseDockerCheck(result("mem=0\ndocker=ok 24.0.5\ncompose=v2\n")).memTotalMb).toBeNull();
    expect(parseDockerCheck(result("", { code: 127, stderr: "sh: not found" }))).toMatchObject({ ok: false, memTotalMb: null });
  });
});
