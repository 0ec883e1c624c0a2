import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RemoteCommandError } from "../../src/errors.js";
import { connectSsh, type SshConnection } from "../../src/remote/index.js";
import type { SshTarget } from "../../src/remote/types.js";
import { describeSandbox, sandboxHosts } from "./sandbox.js";

function target(): SshTarget {
  const h = sandboxHosts()[0]!;
  return { name: h.name, address: h.address, port: h.port, user: h.user, identityFile: h.identityFile, hostKey: h.fingerprint };
}

describeSandbox("SFTP upload against the sandbox", () => {
  let conn: SshConnection;
  let dir: string;
  beforeAll(async () => {
    conn = await connectSsh(target());
    dir = `${sandboxHosts()[0]!.remoteRoot}/ssh-upload-test-${randomBytes(4).toString("hex")}`;
    expect((await conn.exec(`mkdir -p '${dir}'`)).code).toBe(0);
  });
  afterAll(async () => {
    await conn?.exec(`rm -rf '${dir}'`);
    conn?.close();
  });

  const ls = async () => (await conn.exec(`ls -A '${dir}'`)).stdout.split("\n").filter(Boolean).sort();

  it("uploads several files with their final modes and content", async () => {
    await conn.upload([
      { path: `${dir}/.env`, content: "TOKEN=abc\n", mode: 0o600 },
      { path: `${dir}/docker-compose.yml`, content: "services: {}\n", mode: 0o644 },
      { path: `${dir}/provision.sh`, content: Buffer.from("#!/bin/sh\necho ok\n"), mode: 0o700 },
    ]);
    const r = await conn.exec(`cd '${dir}' && stat -c '%n %a %s' .env docker-compose.yml provision.sh && ./provision.sh`);
    expect(r.stdout).toBe(".env 600 10\ndocker-compose.yml 644 13\nprovision.sh 700 18\nok\n");
    expect(await ls()).toEqual([".env", "docker-compose.yml", "provision.sh"]);
  });

  it("reports a missing parent directory as an upload error with a hint", async () => {
    const err = await conn.upload([{ path: `${dir}/nope/x`, content: "x", mode: 0o644 }]).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err).toMatchObject({ step: "upload", host: target().name });
    expect(err.hint).toContain("parent directory must exist");
  });

  it("leaves the previous file intact when an upload is cut off, and clears its temp on the next upload", async () => {
    const path = `${dir}/big.bin`;
    await conn.upload([{ path, content: "previous\n", mode: 0o600 }]);
    // A remote watcher answers once the temp holds over 1 MiB, so we cut the connection mid-write.
    const midway = conn.exec(
      `cd '${dir}' && until [ "$(stat -c %s .big.bin.cf-tmp-* 2>/dev/null || echo 0)" -gt 1048576 ]; do :; done`,
      { timeoutMs: 30_000 },
    );
    const doomed = await connectSsh(target());
    const upload = doomed.upload([{ path, content: Buffer.alloc(64 * 1024 * 1024, 0x61), mode: 0o600 }]).catch((e) => e);
    expect(await midway).toMatchObject({ code: 0, timedOut: false });
    doomed.destroy();
    expect(await upload).toBeInstanceOf(RemoteCommandError);
    expect((await conn.exec(`cat '${path}'`)).stdout).toBe("previous\n");
    expect((await ls()).filter((f) => f.startsWith(".big.bin.cf-tmp-"))).toHaveLength(1);

    // A new connection in this process removes the temp the dead one could not.
    const next = await connectSsh(target());
    await next.upload([{ path: `${dir}/other`, content: "x", mode: 0o644 }]);
    next.close();
    await expect.poll(ls, { timeout: 5000 }).not.toContainEqual(expect.stringContaining("cf-tmp"));
    expect((await conn.exec(`cat '${path}'`)).stdout).toBe("previous\n");
  });

  it("never lets a 0600 file be readable by others, even while it is written", async () => {
    const path = `${dir}/secret.env`;
    const stop = `${dir}/.stop-watch`;
    // Polls the modes of the target and of any temp for it until told to stop.
    const watch = conn.exec(
      `cd '${dir}' && while [ ! -e .stop-watch ]; do stat -c '%a %n' secret.env .secret.env.cf-tmp-* 2>/dev/null; done`,
      { timeoutMs: 60_000 },
    );
    await new Promise((r) => setTimeout(r, 300));
    const other = await connectSsh(target());
    for (let i = 0; i < 3; i++) {
      await other.upload([{ path, content: randomBytes(8 * 1024 * 1024), mode: 0o600 }]);
    }
    other.close();
    await conn.exec(`touch '${stop}'`);
    const lines = (await watch).stdout.split("\n").filter(Boolean);
    expect(lines.some((l) => l.includes("cf-tmp"))).toBe(true);
    expect(lines.filter((l) => !l.startsWith("600 "))).toEqual([]);
  });
});
