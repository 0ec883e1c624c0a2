import { readFileSync } from "node:fs";
import { afterEach, expect, it } from "vitest";
import { connectSsh, SshPool, type ConnectOptions } from "../../src/remote/index.js";
import type { SshTarget } from "../../src/remote/types.js";
import { describeSandbox, freeze, sandboxHosts } from "./sandbox.js";

function target(): SshTarget {
  const h = sandboxHosts()[0]!;
  return { name: h.name, address: h.address, port: h.port, user: h.user, identityFile: h.identityFile, hostKey: h.fingerprint };
}

describeSandbox("SSH pool against the sandbox", () => {
  let pool: SshPool | undefined;
  let connects = 0;
  const countingPool = (opts: ConnectOptions = {}) => {
    connects = 0;
    pool = new SshPool({
      ...opts,
      connect: (t, o) => {
        connects++;
        return connectSsh(t, o);
      },
    });
    return pool;
  };
  afterEach(async () => {
    await pool?.closeAll();
  });

  it("reuses one connection for concurrent gets", async () => {
    const p = countingPool();
    const conns = await Promise.all(Array.from({ length: 5 }, () => p.get(target())));
    expect(new Set(conns).size).toBe(1);
    expect(connects).toBe(1);
    // Same client address and port on the server side: one TCP connection carried every exec.
    const seen = await Promise.all(conns.map(async (c) => (await c.exec("echo $SSH_CONNECTION")).stdout));
    expect(new Set(seen).size).toBe(1);
  });

  it("reconnects after the connection dies", async () => {
    const p = countingPool();
    const first = await p.get(target());
    const closed = new Promise((r) => first.onClose(r));
    first.destroy();
    await closed;
    const second = await p.get(target());
    expect(second).not.toBe(first);
    expect((await second.exec("echo ok")).stdout).toBe("ok\n");
    expect(connects).toBe(2);
  });

  it("keeps at most maxChannels commands running at once on a connection, queueing the rest", async () => {
    const p = countingPool();
    const conn = await p.get(target());
    const log = `/tmp/cf-channel-probe-${process.pid}-${Date.now()}`;
    // Each command logs when it starts and ends; the most overlapping intervals is the concurrency.
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        conn.exec(`echo "$(date +%s%N) 1 ${i}" >> ${log}; sleep 0.3; echo "$(date +%s%N) -1 ${i}" >> ${log}`),
      ),
    );
    expect(runs.every((r) => r.code === 0)).toBe(true);
    const events = (await conn.exec(`cat ${log}; rm -f ${log}`)).stdout.trim().split("\n").map((l) => l.split(" ").map(Number));
    events.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
    let running = 0;
    let most = 0;
    for (const [, delta] of events) most = Math.max(most, (running += delta!));
    expect(events).toHaveLength(40);
    expect(most).toBe(8);
  });

  it("closeAll returns promptly even when a peer is frozen", async () => {
    const p = countingPool({ keepaliveIntervalMs: 0 });
    const conn = await p.get(target());
    // $PPID of the remote shell is the unprivileged sshd process serving this connection.
    const pid = Number((await conn.exec("echo $PPID")).stdout.trim());
    expect(readFileSync(`/proc/${pid}/comm`, "utf8").trim()).toBe("sshd");
    freeze(pid);
    const started = Date.now();
    await p.closeAll();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(conn.closed).toBe(true);
  });
});
