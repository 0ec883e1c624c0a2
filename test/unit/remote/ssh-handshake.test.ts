import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import ssh2 from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostKeyError } from "../../../src/errors.js";
import { connectSsh } from "../../../src/remote/ssh-connection.js";

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/ssh/${name}`, import.meta.url));
const recorded = Object.fromEntries(
  readFileSync(fixture("fingerprints.txt"), "utf8")
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split(" ")),
) as Record<string, string>;
const ED25519 = recorded["id_ed25519.pub"]!;
const RSA = recorded["id_rsa.pub"]!;

/** An in-process ssh2 server holding two host keys, counting auth requests per connection. */
describe("handshake against a server with several host keys", () => {
  let server: ssh2.Server;
  let port = 0;
  const authsPerConnection: number[] = [];
  beforeAll(async () => {
    server = new ssh2.Server(
      { hostKeys: [readFileSync(fixture("id_ed25519")), readFileSync(fixture("id_rsa"))] },
      (client) => {
        const i = authsPerConnection.push(0) - 1;
        client.on("authentication", (ctx) => {
          authsPerConnection[i]!++;
          if (ctx.method === "publickey") ctx.accept();
          else ctx.reject(["publickey"]);
        });
        client.on("error", () => {});
      },
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const target = (hostKey: string | null) => ({
    name: "fake",
    address: "127.0.0.1",
    port,
    user: "u",
    identityFile: fixture("id_ed25519"),
    hostKey,
  });

  it("connects with the pin of the preferred key at the first attempt", async () => {
    authsPerConnection.length = 0;
    const conn = await connectSsh(target(ED25519));
    expect(conn.fingerprint).toBe(ED25519);
    conn.close();
    // Two auth messages: the publickey query, then the signed request.
    expect(authsPerConnection).toEqual([2]);
  });

  it("accepts a pin of the host's other key type, sending no auth to the non-matching attempt", async () => {
    authsPerConnection.length = 0;
    const conn = await connectSsh(target(RSA));
    expect(conn.fingerprint).toBe(RSA);
    conn.close();
    expect(authsPerConnection).toEqual([0, 2]);
  });

  it("refuses a pin matching no key, reporting the preferred key, without any auth", async () => {
    authsPerConnection.length = 0;
    const wrong = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const err = await connectSsh(target(wrong)).catch((e) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    expect(err).toMatchObject({ expected: wrong, actual: ED25519 });
    expect(authsPerConnection.every((n) => n === 0)).toBe(true);
  });

  it("with acceptNew and no pin, takes and reports the preferred key", async () => {
    const conn = await connectSsh(target(null), { acceptNew: true });
    expect(conn.fingerprint).toBe(ED25519);
    conn.close();
  });
});

describe("connect timeout", () => {
  it("gives up on a server that accepts TCP but never speaks SSH, in one clear line", async () => {
    const { createServer } = await import("node:net");
    const sockets: import("node:net").Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as AddressInfo).port;
    const started = Date.now();
    const err = await connectSsh(
      { name: "mute", address: "127.0.0.1", port, user: "u", identityFile: fixture("id_ed25519"), hostKey: ED25519 },
      { connectTimeoutMs: 300 },
    ).catch((e) => e);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err.message).toBe(`cannot reach mute at 127.0.0.1:${port}: no SSH handshake within 0.3s`);
    expect(err.step).toBe("connect");
    sockets.forEach((s) => s.destroy());
    await new Promise<void>((r) => silent.close(() => r()));
  });
});
