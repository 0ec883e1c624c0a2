import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { BACKUP_EXIT, backupCommand, parseBackupTrailer, restoreCommand, stageRestoreCommand, stagedRestorePath } from "../../../../src/remote/commands/backup.js";

const shellcheck = (script: string) => {
  try {
    execFileSync("shellcheck", ["-s", "sh", "-S", "warning", "-e", "SC2086", "-"], { input: script, encoding: "utf8" });
    return "";
  } catch (err) {
    const e = err as { status?: number; stdout?: string; code?: string };
    if (e.code === "ENOENT") return "";
    return e.stdout ?? String(err);
  }
};

describe("backup remote commands", () => {
  const opts = { backupId: "cmabc123", dataPath: "/home/node/.openclaw", pause: true, maxPauseSec: 30 };

  it("copies the volume path's contents with docker cp under the instance lock, pausing at most maxPauseSec", () => {
    const script = backupCommand("/srv/r", "acme", opts);
    expect(script).toContain("exec 9>>'/srv/r/instances/acme/.lock'");
    expect(script).toContain(`src="$cid":'/home/node/.openclaw/.'`);
    expect(script).toContain('timeout 30 docker cp "$src" - >"$spool"');
    // The unpause precedes the stream: the pause never waits for the network.
    expect(script.indexOf("unpause && paused=0")).toBeLessThan(script.indexOf('cat "$spool"'));
    // The unpause outlives the script: an abort's KILL to our group must not cut it short.
    expect(script).toContain('unpause() { setsid docker unpause "$cid" >/dev/null 2>&1 </dev/null 9>&- & wait "$!"; }');
    expect(script).toMatch(/cleanup\(\) \{ if \[ "\$paused" = 1 \]; then unpause \|\| true; fi;/);
    expect(script).toMatch(/setsid sh -c 'sleep "\$1"; docker unpause "\$2"' _ 35 "\$cid" .* 9>&- & guard=\$!/);
    expect(script).toContain('kill -- "-$guard"');
    expect(script).toContain("trap cleanup EXIT");
    expect(backupCommand("/srv/r", "acme", { ...opts, pause: false })).toContain("pause=0");
    execFileSync("sh", ["-n"], { input: script });
    expect(shellcheck(script)).toBe("");
  });

  it("parses the trailer, and nothing else passes for one", () => {
    const sha = "ab".repeat(32);
    expect(parseBackupTrailer(`noise\nCLAWFLEET_BACKUP sha256=${sha} paused_ms=412\n`)).toEqual({ sha256: sha, pausedMs: 412 });
    expect(parseBackupTrailer(`CLAWFLEET_BACKUP sha256=${sha.slice(2)} paused_ms=1`)).toBeNull();
    expect(parseBackupTrailer("")).toBeNull();
  });

  it("stages a restore beside the instance and keeps it only when the SHA-256 matches", () => {
    const sha = "cd".repeat(32);
    const script = stageRestoreCommand("/srv/r", "acme", "cmabc123", sha);
    expect(stagedRestorePath("/srv/r", "acme", "cmabc123")).toBe("/srv/r/instances/acme/.restore-cmabc123.tar");
    expect(script).toContain(`if [ "$sha" != '${sha}' ]`);
    expect(script).toContain(`exit ${BACKUP_EXIT.checksum}`);
    expect(script.indexOf("exit 72")).toBeLessThan(script.indexOf('mv "$staged.partial" "$staged"'));
    execFileSync("sh", ["-n"], { input: script });
    expect(shellcheck(script)).toBe("");
  });

  it("restores into a fresh volume after saving the current data, and puts it back when unhealthy", () => {
    const script = restoreCommand("/srv/r", "acme", { backupId: "cmabc123", dataPath: "/home/node/.openclaw/", gatewayPort: 18800, healthTimeoutSec: 90 });
    const order = ['docker stop -t 10 "$cid"', 'docker cp "$cid":\'/home/node/.openclaw/.\' - >"$pre"', 'docker volume rm "$vol"', "cfc up --no-start >&2 || return 1", `docker cp - "$cid":'/home/node/.openclaw' <"$1"`, 'if load "$staged" && ready', 'if load "$pre" && ready'];
    const at = order.map((s) => script.indexOf(s));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(script).toContain("vol='cf-acme-data'");
    expect(script).toContain(`exit ${BACKUP_EXIT.rolledBack}`);
    expect(script).toContain('echo "kept=$pre"');
    execFileSync("sh", ["-n"], { input: script });
    expect(shellcheck(script)).toBe("");
  });
});
