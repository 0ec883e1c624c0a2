import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, expect, it, onTestFinished } from "vitest";
import { describeSandbox, repoRoot, sandboxHosts, sh } from "./sandbox.js";

/**
 * The client, as its own process: it connects with clawfleet's transport (bundled from src/), prints
 * the pid of the sshd process serving it, then runs a command that takes a flock and sleeps,
 * printing "locked" once it holds the lock.
 */
const CHILD = `
import { connectSsh } from "${repoRoot}/src/remote/index.ts";
const [target, lock, nap] = [JSON.parse(process.argv[2]), process.argv[3], process.argv[4]];
(async () => {
  const conn = await connectSsh(target);
  console.log("sshd=" + (await conn.exec("echo $PPID")).stdout.trim());
  const command = \`flock '\${lock}' sh -c 'echo locked; sleep \${nap}'\`;
  const res = await conn.exec(command, { timeoutMs: 600_000, onStdout: (c) => process.stdout.write(c) });
  console.log("exited " + JSON.stringify(res));
})().catch((err) => console.log("failed " + err.message));
`;

describeSandbox("a remote command dies with its client", () => {
  let tmp: string;
  let bundle: string;
  const host = () => sandboxHosts()[0]!;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "cf-hangup-"));
    bundle = path.join(tmp, "child.cjs");
    await build({
      stdin: { contents: CHILD, resolveDir: repoRoot, loader: "ts" },
      bundle: true,
      platform: "node",
      format: "cjs",
      // ssh2 (CommonJS, optional native parts) stays outside; p-limit and the rest go in.
      external: ["ssh2"],
      outfile: bundle,
      logLevel: "silent",
    });
  });
  afterAll(() => tmp && rmSync(tmp, { recursive: true, force: true }));

  /** Starts the client and waits until the remote command holds the lock. */
  async function startClient() {
    const h = host();
    const lock = `${h.remoteRoot}/hangup-${randomBytes(4).toString("hex")}.lock`;
    const nap = `300.${parseInt(randomBytes(3).toString("hex"), 16)}`;
    const target = { name: h.name, address: h.address, port: h.port, user: h.user, identityFile: h.identityFile, hostKey: h.fingerprint };
    // CommonJS finds ssh2 through NODE_PATH; the bundle lives outside the repo.
    const child = spawn(process.execPath, [bundle, JSON.stringify(target), lock, nap], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, NODE_PATH: path.join(repoRoot, "node_modules") },
    });
    onTestFinished(() => stop(child, lock, nap));
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    await expect.poll(() => out, { timeout: 15_000 }).toContain("locked");
    const sshd = Number(/^sshd=(\d+)$/m.exec(out)![1]);
    // The sandbox runs on this machine, so its processes and lock files are ours to inspect.
    expect(readFileSync(`/proc/${sshd}/comm`, "utf8").trim()).toBe("sshd");
    expect(await lockFree(lock)).toBe(false);
    expect(await sleepers(nap)).not.toBe("");
    return { child, lock, nap, sshd, output: () => out };
  }

  it("SIGKILL of the client process: within 10 s the flock is free and the sleep is gone", async () => {
    const { child, lock, nap } = await startClient();
    const exited = new Promise((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    await expect.poll(() => lockFree(lock), { timeout: 10_000, interval: 200 }).toBe(true);
    await expect.poll(() => sleepers(nap), { timeout: 10_000, interval: 200 }).toBe("");
  });

  it("a cut connection (its sshd session process killed): the same", async () => {
    const { lock, nap, sshd, output } = await startClient();
    process.kill(sshd, "SIGKILL");
    await expect.poll(() => lockFree(lock), { timeout: 10_000, interval: 200 }).toBe(true);
    await expect.poll(() => sleepers(nap), { timeout: 10_000, interval: 200 }).toBe("");
    // The client learns it too: the exec fails instead of resolving with an exit status.
    await expect.poll(output, { timeout: 20_000 }).toContain("failed SSH connection to");
  });
});

/** True when nobody holds the flock (the sandbox host is this machine). */
async function lockFree(lock: string): Promise<boolean> {
  return (await sh(`flock -n '${lock}' true`)).code === 0;
}

/** Every process whose argv names `sleep <nap>`: the sleep, its shells, timeout(1), the watcher ([s] keeps pgrep's shell out). */
async function sleepers(nap: string): Promise<string> {
  return (await sh(`pgrep -af '[s]leep ${nap}' || true`)).stdout.trim();
}

/** Whatever a failed test left: the client and, on the host, the command's processes and lock file. */
async function stop(child: ChildProcess, lock: string, nap: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  // By pid, found by the nap only this test uses; the flock and its shells then end on their own.
  await sh(`for p in $(pgrep -f '^[s]leep ${nap}$'); do kill -KILL "$p"; done; rm -f '${lock}'`);
}
