import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RemoteCommandError } from "../../src/errors.js";
import { connectSsh, type SshConnection } from "../../src/remote/index.js";
import type { SshTarget } from "../../src/remote/types.js";
import { describeSandbox, freeze, sandboxHosts } from "./sandbox.js";

function target(): SshTarget {
  const h = sandboxHosts()[0]!;
  return { name: h.name, address: h.address, port: h.port, user: h.user, identityFile: h.identityFile, hostKey: h.fingerprint };
}

/** A sleep duration no other process on the host has, so pgrep -f finds only ours. */
const uniqueSleep = () => `600.${parseInt(randomBytes(4).toString("hex"), 16)}`;
/** Lists processes running `sleep <nap>`; the [s] keeps pgrep's own shell from matching. */
const sleepers = async (conn: SshConnection, nap: string) => (await conn.exec(`pgrep -af '[s]leep ${nap}' || true`)).stdout;

describeSandbox("SSH exec against the sandbox", () => {
  let conn: SshConnection;
  beforeAll(async () => {
    conn = await connectSsh(target());
  });
  afterAll(() => conn?.close());

  it("returns stdout, stderr and a non-zero code without throwing, and streams output", async () => {
    const chunks: string[] = [];
    const r = await conn.exec("printf 'héllo\\n'; echo oops >&2; exit 7", { onStdout: (c) => chunks.push(c) });
    expect(r).toEqual({ stdout: "héllo\n", stderr: "oops\n", code: 7, timedOut: false });
    expect(chunks.join("")).toBe("héllo\n");
  });

  it("streams binary stdout into a slow sink with backpressure, and binary stdin from a stream", async () => {
    const { Readable, Writable } = await import("node:stream");
    const { createHash } = await import("node:crypto");
    const payload = randomBytes(8 * 1024 * 1024);
    const hash = createHash("sha256").update(payload).digest("hex");
    const sent = await conn.exec("sha256sum | cut -d ' ' -f 1", { stdinStream: Readable.from([payload.subarray(0, 1 << 20), payload.subarray(1 << 20)]) });
    expect(sent.stdout.trim()).toBe(hash);
    // The remote writes 8 MiB; the sink takes 1 MiB per 50 ms tick, so the channel must pause.
    let buffered = 0;
    let maxBuffered = 0;
    const got: Buffer[] = [];
    const sink = new Writable({
      highWaterMark: 1 << 20,
      write(chunk: Buffer, _e, cb) {
        got.push(Buffer.from(chunk));
        buffered += chunk.length;
        maxBuffered = Math.max(maxBuffered, buffered);
        setTimeout(() => ((buffered -= chunk.length), cb()), chunk.length >= 1 << 16 ? 5 : 0);
      },
    });
    const back = await conn.exec("cat", { stdinStream: Readable.from([payload]), stdoutSink: sink });
    expect(back).toMatchObject({ code: 0, stdout: "" });
    // Every byte has been handed to the sink; ending it flushes what it still buffers.
    await new Promise<void>((r) => sink.end(r));
    expect(createHash("sha256").update(Buffer.concat(got)).digest("hex")).toBe(hash);
    expect(maxBuffered).toBeLessThan(payload.length);
  });

  it("passes secrets on stdin only: they never appear in any process's argv", async () => {
    const secret = `s3cret-${randomBytes(8).toString("hex")}`;
    const running = conn.exec("read -r token; sleep 1; printf %s \"$token\" | sha256sum", { stdin: `${secret}\n` });
    await new Promise((r) => setTimeout(r, 400));
    const ps = await conn.exec("ps -eo args");
    expect(ps.stdout).not.toContain(secret);
    const r = await running;
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(secret);
  });

  it("kills the whole remote process tree when a command times out", async () => {
    const nap = uniqueSleep();
    const started = Date.now();
    const r = await conn.exec(`sleep ${nap} & sleep ${nap}; wait`, { timeoutMs: 1000 });
    expect(r.timedOut).toBe(true);
    expect([124, 137]).toContain(r.code);
    expect(Date.now() - started).toBeLessThan(1000 + 5000);
    expect(await sleepers(conn, nap)).toBe("");
  });

  it("KILLs a command that ignores TERM, two seconds after the deadline", async () => {
    const nap = uniqueSleep();
    const started = Date.now();
    const r = await conn.exec(`trap '' TERM; sleep ${nap}`, { timeoutMs: 500 });
    const took = Date.now() - started;
    expect(r.timedOut).toBe(true);
    expect(took).toBeGreaterThanOrEqual(2000);
    expect(took).toBeLessThan(500 + 5000);
    expect(await sleepers(conn, nap)).toBe("");
  });

  it("stops a remote command on abort and rejects with the abort reason", async () => {
    const nap = uniqueSleep();
    const controller = new AbortController();
    const running = conn.exec(`sleep ${nap}`, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("stop please")), 500);
    await expect(running).rejects.toThrow("stop please");
    await expect.poll(() => sleepers(conn, nap), { timeout: 5000 }).toBe("");
  });

  it("detects a frozen peer within keepalive interval × count, failing pending work", async () => {
    const watched = await connectSsh(target(), { keepaliveIntervalMs: 500, keepaliveCountMax: 3 });
    // $PPID of the remote shell is the unprivileged sshd process serving this connection.
    const pid = Number((await watched.exec("echo $PPID")).stdout.trim());
    expect(readFileSync(`/proc/${pid}/comm`, "utf8").trim()).toBe("sshd");
    const closed = new Promise<{ at: number; err?: Error }>((resolve) => watched.onClose((err) => resolve({ at: Date.now(), err })));
    const pending = watched.exec("sleep 30").catch((e) => e);
    await new Promise((r) => setTimeout(r, 200));
    const frozenAt = Date.now();
    freeze(pid);
    const { at, err } = await closed;
    expect(at - frozenAt).toBeLessThan(500 * 3 + 500);
    expect(err?.message).toMatch(/keepalive/i);
    expect(await pending).toBeInstanceOf(RemoteCommandError);
    expect(watched.closed).toBe(true);
    await expect(watched.exec("true")).rejects.toBeInstanceOf(RemoteCommandError);
  });
});
