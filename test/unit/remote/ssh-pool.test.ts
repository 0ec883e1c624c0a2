import { describe, expect, it } from "vitest";
import { RemoteCommandError } from "../../../src/errors.js";
import type { SshConnection } from "../../../src/remote/ssh-connection.js";
import { SshPool } from "../../../src/remote/ssh-pool.js";
import type { SshTarget } from "../../../src/remote/types.js";

class FakeConnection implements SshConnection {
  readonly fingerprint = "SHA256:fake";
  closed = false;
  #callbacks: ((err?: Error) => void)[] = [];
  constructor(readonly hostName: string) {}
  exec = async () => ({ stdout: "", stderr: "", code: 0, timedOut: false });
  upload = async () => {};
  transfer = async () => "sftp" as const;
  close = () => this.end();
  destroy = () => this.end(new Error("destroyed"));
  onClose(cb: (err?: Error) => void) {
    if (this.closed) queueMicrotask(() => cb());
    else this.#callbacks.push(cb);
  }
  end(err?: Error) {
    if (this.closed) return;
    this.closed = true;
    this.#callbacks.splice(0).forEach((cb) => cb(err));
  }
}

function fakeConnector() {
  const opened: FakeConnection[] = [];
  let failNext = false;
  const connect = async (target: SshTarget) => {
    await new Promise((r) => setTimeout(r, 5));
    if (failNext) {
      failNext = false;
      throw new RemoteCommandError(target.name, "connect", "cannot reach");
    }
    const c = new FakeConnection(target.name);
    opened.push(c);
    return c;
  };
  return { connect, opened, failOnce: () => (failNext = true) };
}

const sbx1: SshTarget = { name: "sbx-1", address: "127.0.1.1", port: 2222, user: "u", hostKey: "SHA256:a" };
const sbx2: SshTarget = { ...sbx1, name: "sbx-2", address: "127.0.1.2" };

describe("SshPool", () => {
  it("shares one in-flight connect among concurrent gets for a host", async () => {
    const fake = fakeConnector();
    const pool = new SshPool({ connect: fake.connect });
    const conns = await Promise.all([pool.get(sbx1), pool.get(sbx1), pool.get(sbx1), pool.get(sbx2)]);
    expect(fake.opened).toHaveLength(2);
    expect(conns[0]).toBe(conns[1]);
    expect(conns[0]).toBe(conns[2]);
    expect(conns[3]).not.toBe(conns[0]);
    expect(await pool.get(sbx1)).toBe(conns[0]);
  });

  it("drops a closed connection so the next get reconnects", async () => {
    const fake = fakeConnector();
    const pool = new SshPool({ connect: fake.connect });
    const first = (await pool.get(sbx1)) as FakeConnection;
    first.end(new Error("keepalive timeout"));
    const second = await pool.get(sbx1);
    expect(second).not.toBe(first);
    expect(fake.opened).toHaveLength(2);
  });

  it("does not cache a failed connect", async () => {
    const fake = fakeConnector();
    const pool = new SshPool({ connect: fake.connect });
    fake.failOnce();
    await expect(pool.get(sbx1)).rejects.toThrow("cannot reach");
    expect(pool.hostNames).toEqual([]);
    expect(await pool.get(sbx1)).toBe(fake.opened[0]);
  });

  it("reconnects when the host's address or pin changed, closing the old connection", async () => {
    const fake = fakeConnector();
    const pool = new SshPool({ connect: fake.connect });
    const old = (await pool.get(sbx1)) as FakeConnection;
    const rekeyed = await pool.get({ ...sbx1, hostKey: "SHA256:b" });
    expect(rekeyed).not.toBe(old);
    await new Promise((r) => setTimeout(r, 0));
    expect(old.closed).toBe(true);
    // The old connection's close must not evict its replacement.
    expect(await pool.get({ ...sbx1, hostKey: "SHA256:b" })).toBe(rekeyed);
  });

  it("drop closes and forgets one host", async () => {
    const fake = fakeConnector();
    const pool = new SshPool({ connect: fake.connect });
    const c = (await pool.get(sbx1)) as FakeConnection;
    pool.drop("sbx-1");
    await new Promise((r) => setTimeout(r, 0));
    expect(c.closed).toBe(true);
    expect(pool.hostNames).toEqual([]);
  });

  it("closeAll closes live and in-flight connections", async () => {
    const fake = fakeConnector();
    const pool = new SshPool({ connect: fake.connect });
    await pool.get(sbx1);
    const inFlight = pool.get(sbx2);
    await pool.closeAll();
    await inFlight;
    expect(fake.opened.map((c) => c.closed)).toEqual([true, true]);
    expect(pool.hostNames).toEqual([]);
  });

  it("passes its connect options through", async () => {
    let seen: unknown;
    const pool = new SshPool({
      maxChannels: 4,
      keepaliveIntervalMs: 1000,
      connect: async (t, opts) => {
        seen = opts;
        return new FakeConnection(t.name);
      },
    });
    await pool.get(sbx1);
    expect(seen).toEqual({ maxChannels: 4, keepaliveIntervalMs: 1000 });
  });
});
