/**
 * A SQLite inventory that cannot be opened or read, through the real CLI: a clear error (exit 1) that
 * names the file, the cause and the fix, and the file left exactly as it was. Needs no sandbox.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./cli.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "cf-corrupt-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function dir(): string {
  const d = path.join(tmp, `case${++n}`);
  mkdirSync(d);
  return d;
}

const snapshot = (file: string) => ({ bytes: readFileSync(file), mtimeMs: statSync(file).mtimeMs, mode: statSync(file).mode });
const list = (file: string, args: string[] = []) => runCli(["list", ...args], { CLAWFLEET_DATABASE_URL: `file:${file}` });

/** A real inventory made by the CLI itself. */
async function realDb(d: string): Promise<string> {
  const file = path.join(d, "x.db");
  const res = await list(file);
  expect(res.code, res.stderr).toBe(0);
  return file;
}

describe("a SQLite file clawfleet cannot use", () => {
  it("refuses random bytes with exit 1, names the file and the fix, and writes nothing", async () => {
    const d = dir();
    const file = path.join(d, "x.db");
    writeFileSync(file, randomBytes(64 * 1024));
    const before = snapshot(file);
    await new Promise((r) => setTimeout(r, 20)); // a write would move the mtime visibly
    const res = await list(file);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`error: cannot use the SQLite database ${file}: it is not an SQLite database`);
    expect(res.stderr).toContain(`hint: restore it from a backup, or move it aside to start with an empty inventory: mv ${file} ${file}.corrupt (clawfleet never overwrites it)`);
    expect(res.stderr).not.toContain("file is not a database\n");
    expect(snapshot(file)).toEqual(before);
    expect(readdirSync(d)).toEqual(["x.db"]);
  });

  it("says the same in one JSON document with --json", async () => {
    const file = path.join(dir(), "x.db");
    writeFileSync(file, randomBytes(4096));
    const res = await list(file, ["--json"]);
    expect(res.code).toBe(1);
    expect(res.json()).toEqual({
      error: {
        code: "FAILED",
        message: `cannot use the SQLite database ${file}: it is not an SQLite database (it does not start with the SQLite header)`,
        hint: `restore it from a backup, or move it aside to start with an empty inventory: mv ${file} ${file}.corrupt (clawfleet never overwrites it)`,
      },
    });
  });

  it("refuses a truncated inventory, with SQLite's own verdict, and writes nothing", async () => {
    const d = dir();
    const file = await realDb(d);
    truncateSync(file, 8192);
    const before = snapshot(file);
    await new Promise((r) => setTimeout(r, 20));
    const res = await list(file);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`error: cannot use the SQLite database ${file}: database disk image is malformed (SQLITE_CORRUPT)`);
    expect(res.stderr).toContain(`mv ${file} ${file}.corrupt`);
    expect(snapshot(file)).toEqual(before);
    expect(readdirSync(d)).toEqual(["x.db"]);
  });

  it("refuses a directory where the file should be", async () => {
    const d = dir();
    const file = path.join(d, "x.db");
    mkdirSync(file);
    const res = await list(file);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`error: cannot use the SQLite database ${file}: it is a directory, not a file`);
    expect(res.stderr).toContain(`hint: point CLAWFLEET_DATABASE_URL at the database file, or move the directory aside to start with an empty inventory: mv ${file} ${file}.corrupt`);
    expect(readdirSync(file)).toEqual([]);
  });

  it("refuses a path through a regular file", async () => {
    const d = dir();
    writeFileSync(path.join(d, "plain"), "not a directory\n");
    const file = path.join(d, "plain", "x.db");
    const res = await list(file);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`error: cannot create the directory of the SQLite database ${file}: a part of the path is not a directory`);
    expect(readFileSync(path.join(d, "plain"), "utf8")).toBe("not a directory\n");
  });

  // chmod 000 does not stop root, so the CLI runs as an unprivileged user for a real EACCES.
  const runuser = spawnSync("runuser", ["-u", "nobody", "--", "true"]);
  const canDrop = process.getuid?.() === 0 && runuser.status === 0;
  if (!canDrop) console.warn("\n!!  store-corrupt: the permission test is SKIPPED (it needs root and runuser -u nobody)\n");
  it.skipIf(!canDrop)("refuses a file the user may not read, naming the user", async () => {
    const d = dir();
    chmodSync(tmp, 0o755);
    chmodSync(d, 0o755);
    const file = await realDb(d);
    chmodSync(file, 0o600); // root's: nobody may not read it
    const before = snapshot(file);
    const bin = path.resolve(import.meta.dirname, "../../bin/clawfleet.js");
    const res = spawnSync("runuser", ["-u", "nobody", "--", process.execPath, bin, "list"], {
      encoding: "utf8",
      env: { ...process.env, HOME: d, CLAWFLEET_DATABASE_URL: `file:${file}`, NO_COLOR: "1" },
    });
    expect(res.status, res.stderr).toBe(1);
    expect(res.stderr).toContain(`error: cannot open the SQLite database ${file}: permission denied (EACCES)`);
    expect(res.stderr).toContain("hint: give nobody read and write access to it and its directory");
    expect(snapshot(file)).toEqual(before);
  });
});

describe("a usable SQLite file", () => {
  it("is still created when missing, and opening it again writes nothing", async () => {
    const d = dir();
    const file = path.join(d, "sub", "x.db");
    const res = await list(file);
    expect(res.code, res.stderr).toBe(0);
    expect(readFileSync(file).subarray(0, 16).toString("latin1")).toBe("SQLite format 3\0");
    const before = snapshot(file);
    await new Promise((r) => setTimeout(r, 20));
    expect((await list(file)).code).toBe(0);
    expect(snapshot(file)).toEqual(before);
  });

  it("takes an empty file for a new inventory, as SQLite does", async () => {
    const file = path.join(dir(), "x.db");
    writeFileSync(file, "");
    const res = await list(file);
    expect(res.code, res.stderr).toBe(0);
    expect(readFileSync(file).subarray(0, 16).toString("latin1")).toBe("SQLite format 3\0");
  });
});
