import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { describe, expect, it, onTestFinished } from "vitest";
import { wrapCommand } from "../../../src/remote/ssh-exec.js";

/** Runs the wrapped command as sshd would: the login shell leads its own session, stdin a pipe we hold. */
function runAsSession(shell: string, wrapped: string) {
  const child = spawn(shell, ["-c", wrapped], { detached: true, stdio: ["pipe", "pipe", "pipe"] });
  // Even when a test fails or times out: the session's group (the command's, since timeout leads it).
  onTestFinished(() => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // the group is gone
    }
  });
  let stdout = "";
  child.stdout!.on("data", (d) => (stdout += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, stdout: () => stdout };
}

const nap = () => `300.${parseInt(randomBytes(3).toString("hex"), 16)}`;
const alive = (pattern: string) => spawnSync("pgrep", ["-f", pattern]).status === 0;
const gone = async (pattern: string, withinMs: number) => {
  const deadline = Date.now() + withinMs;
  while (alive(pattern)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
};

describe.each(["bash", "dash"])("the hangup watcher under %s", (shell) => {
  it("ends the command's whole tree when stdin closes, as sshd closes it when the client is gone", async () => {
    const n = nap();
    const run = runAsSession(shell, wrapCommand(`sleep ${n} & sleep ${n}; wait`, 600_000, false, { hangup: true }));
    await expect.poll(() => alive(`^sleep ${n}`), { timeout: 5000 }).toBe(true);
    run.child.stdin!.end();
    expect(await run.exited).toEqual({ code: null, signal: "SIGTERM" });
    expect(await gone(`^sleep ${n}`, 1000)).toBe(true);
    // The watcher itself (its argv holds the command) is gone after its KILL round.
    expect(await gone(`sleep ${n}`, 4000)).toBe(true);
  });

  it("KILLs what ignores TERM two seconds later", async () => {
    const n = nap();
    const run = runAsSession(shell, wrapCommand(`trap '' TERM; sleep ${n}; echo survived`, 600_000, false, { hangup: true }));
    await expect.poll(() => alive(`^sleep ${n}`), { timeout: 5000 }).toBe(true);
    const cut = Date.now();
    run.child.stdin!.end();
    expect(await gone(`^sleep ${n}`, 5000)).toBe(true);
    expect(Date.now() - cut).toBeGreaterThanOrEqual(1500);
    expect(run.stdout()).toBe("");
  });

  it("passes a normal exit through, and then leaves without touching what the command left running", async () => {
    const n = nap();
    const run = runAsSession(shell, wrapCommand(`sleep ${n} >/dev/null 2>&1 & echo done; exit 7`, 600_000, false, { hangup: true }));
    expect(await run.exited).toEqual({ code: 7, signal: null });
    expect(run.stdout()).toBe("done\n");
    run.child.stdin!.end();
    // The watcher sees the session's process gone and exits; the background sleep lives on, as before.
    expect(await gone(`read -r _; do :; done.*sleep ${n}`, 2000)).toBe(true);
    expect(alive(`^sleep ${n}`)).toBe(true);
  });
});
