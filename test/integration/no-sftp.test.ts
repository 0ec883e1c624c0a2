import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { addHost, rekeyHost } from "../../src/app/hosts/hosts.js";
import type { Connector, Deps } from "../../src/app/ports.js";
import { RemoteCommandError } from "../../src/errors.js";
import { connectSsh, type SshConnection } from "../../src/remote/index.js";
import type { SshTarget } from "../../src/remote/types.js";
import { memoryStore } from "../fakes/memory-store.js";
import { describeSandbox, repoRoot, sandboxDir, sandboxHosts, sh, shOk } from "./sandbox.js";

// An extra sshd with no Subsystem line at all (scripts/lib/sandbox-sshd.sh start_nosftp).
const INDEX = 250;
const ADDRESS = `127.0.1.${INDEX}`;
const STATE_DIR = `${sandboxDir}/nosftp-${INDEX}`;
const REMOTE_ROOT = `/srv/clawfleet-sandbox/sbx-${INDEX}`;

/** Runs a function of the sandbox's shell library, as scripts/sandbox does (as root). */
const sandboxLib = (call: string) =>
  shOk(
    `set -euo pipefail; REPO='${repoRoot}'; CLAWFLEET_SANDBOX_DIR='${sandboxDir}'; ` +
      `source "$REPO/scripts/lib/sandbox-common.sh"; source "$REPO/scripts/lib/sandbox-sshd.sh"; ${call}`,
  );

describeSandbox("uploads to a host without an SFTP subsystem", () => {
  let noSftp: SshTarget;
  let normal: SshTarget;
  let conn: SshConnection;
  let dir: string;

  beforeAll(async () => {
    const fingerprint = (await sandboxLib(`start_nosftp ${INDEX} '${STATE_DIR}'`)).trim();
    const h = sandboxHosts()[0]!;
    normal = { name: h.name, address: h.address, port: h.port, user: h.user, identityFile: h.identityFile, hostKey: h.fingerprint };
    noSftp = { ...normal, name: `sbx-${INDEX}`, address: ADDRESS, port: 2222, hostKey: fingerprint };
    conn = await connectSsh(noSftp);
    dir = `${REMOTE_ROOT}/no-sftp-test-${randomBytes(4).toString("hex")}`;
    expect((await conn.exec(`mkdir -p '${dir}'`)).code).toBe(0);
  });

  afterAll(async () => {
    await conn?.exec(`rm -rf '${dir}'`).catch(() => undefined);
    conn?.close();
    await sandboxLib(`stop_nosftp '${STATE_DIR}'`);
    // Nothing of ours is left listening.
    expect((await sh(`exec 3<>/dev/tcp/${ADDRESS}/2222`)).code).not.toBe(0);
  });

  const ls = async () => (await conn.exec(`ls -A '${dir}'`)).stdout.split("\n").filter(Boolean).sort();

  it("really has no SFTP: the server refuses the subsystem", async () => {
    expect(readFileSync(`${STATE_DIR}/sshd_config`, "utf8")).not.toMatch(/^\s*subsystem/im);
    const r = await sh(`sftp -b /dev/null -i '${noSftp.identityFile}' -P 2222 -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null ${noSftp.user}@${ADDRESS}`);
    expect(r.code).not.toBe(0);
  });

  it("transfer() says exec there and sftp on a normal sandbox host", async () => {
    expect(await conn.transfer()).toBe("exec");
    const other = await connectSsh(normal);
    try {
      expect(await other.transfer()).toBe("sftp");
    } finally {
      other.close();
    }
  });

  it("uploads several files with their content and final modes, leaving no temp", async () => {
    await conn.upload([
      { path: `${dir}/.env`, content: "TOKEN=abc\n", mode: 0o600 },
      { path: `${dir}/docker-compose.yml`, content: "services: {}\n", mode: 0o644 },
      { path: `${dir}/provision.sh`, content: Buffer.from("#!/bin/sh\necho ok\n"), mode: 0o700 },
    ]);
    const r = await conn.exec(`cd '${dir}' && stat -c '%n %a %s' .env docker-compose.yml provision.sh && ./provision.sh`);
    expect(r.stdout).toBe(".env 600 10\ndocker-compose.yml 644 13\nprovision.sh 700 18\nok\n");
    expect(await ls()).toEqual([".env", "docker-compose.yml", "provision.sh"]);
  });

  it("replaces an existing target atomically: a reader sees the old file or the new one, never a part", async () => {
    const path = `${dir}/site.caddy`;
    const a = Buffer.alloc(1 << 20, 0x61);
    const b = Buffer.alloc(1 << 20, 0x62);
    await conn.upload([{ path, content: a, mode: 0o644 }]);
    const inodeBefore = (await conn.exec(`stat -c %i '${path}'`)).stdout.trim();
    // Reads the target over and over, printing the distinct (size, first byte, last byte) it sees.
    const watch = conn.exec(
      `cd '${dir}' && while [ ! -e .stop ]; do od -An -c -j 0 -N 1 site.caddy; tail -c 1 site.caddy | od -An -c; stat -c %s site.caddy; done 2>&1 | tr -s ' \\n' ' ' | tr ' ' '\\n' | sort -u`,
      { timeoutMs: 60_000 },
    );
    await new Promise((r) => setTimeout(r, 200));
    const other = await connectSsh(noSftp);
    for (const content of [b, a, b]) await other.upload([{ path, content, mode: 0o644 }]);
    other.close();
    await conn.exec(`touch '${dir}/.stop'`);
    const seen = (await watch).stdout.split("\n").filter(Boolean).sort();
    expect(seen).toEqual(["1048576", "a", "b"]);
    expect((await conn.exec(`stat -c %i '${path}'`)).stdout.trim()).not.toBe(inodeBefore);
    await conn.exec(`rm -f '${dir}/.stop'`);
  });

  it("writes into a 0600 temp and keeps the contents out of every argv meanwhile", async () => {
    const secret = `s3cret-${randomBytes(8).toString("hex")}`;
    const content = Buffer.concat([Buffer.from(`${secret}\n`), randomBytes(3 << 20)]);
    const path = `${dir}/secret.env`;
    const snapshots = `${REMOTE_ROOT}/.ps-${randomBytes(4).toString("hex")}`;
    // Polls the temp's mode and size, and snapshots every process's argv, until told to stop.
    const watch = conn.exec(
      `cd '${dir}' && while [ ! -e .stop ]; do stat -c '%a %s %n' .secret.env.cf-tmp-* 2>/dev/null; ps -eo args >>'${snapshots}'; echo '--' >>'${snapshots}'; done`,
      { timeoutMs: 60_000 },
    );
    await new Promise((r) => setTimeout(r, 200));
    const other = await connectSsh(noSftp);
    await other.upload([{ path, content, mode: 0o640 }]);
    other.close();
    await conn.exec(`touch '${dir}/.stop'`);
    const temps = (await watch).stdout.split("\n").filter((l) => l.includes("cf-tmp"));
    const argv = (await conn.exec(`cat '${snapshots}'; rm -f '${snapshots}'`)).stdout;
    expect(temps.length).toBeGreaterThan(0);
    // 0600 from its creation; only once every byte is in does it take the final mode, just before the rename.
    expect(temps.filter((l) => !l.startsWith("600 ") && !l.startsWith(`640 ${content.length} `))).toEqual([]);
    expect(argv.split("--\n").length).toBeGreaterThan(2);
    expect(argv).not.toContain(secret);
    expect((await conn.exec(`stat -c %a '${path}' && head -n 1 '${path}'`)).stdout).toBe(`640\n${secret}\n`);
    expect((await ls()).filter((f) => f.includes("cf-tmp"))).toEqual([]);
    await conn.exec(`rm -f '${dir}/.stop'`);
  });

  it("reports a missing parent directory as an upload error naming the file", async () => {
    const err = await conn.upload([{ path: `${dir}/nope/x`, content: "x", mode: 0o644 }]).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err).toMatchObject({ step: "upload", host: noSftp.name });
    expect(err.message).toContain(`cannot upload ${dir}/nope/x`);
    expect(err.hint).toContain("parent directory must exist");
  });

  it("does not turn an SFTP permission error on a normal host into a fallback", async () => {
    const other = await connectSsh(normal);
    try {
      // The sandbox's root above the hosts' remote roots belongs to root, 0755.
      const denied = `/srv/clawfleet-sandbox/cf-denied-${randomBytes(4).toString("hex")}`;
      const err = await other.upload([{ path: denied, content: "x", mode: 0o644 }]).catch((e) => e);
      expect(err).toBeInstanceOf(RemoteCommandError);
      expect(err.message).toMatch(/permission denied/i);
      expect(err.message).not.toContain("over exec");
      expect((err.cause as { code?: number }).code).toBe(3); // SSH_FX_PERMISSION_DENIED
      expect(await other.transfer()).toBe("sftp");
      expect((await other.exec(`test -e '${denied}' || echo absent`)).stdout).toBe("absent\n");
    } finally {
      other.close();
    }
  });

  it("hosts add records the transfer and the host's memory; rekey updates the transfer", async () => {
    const store = memoryStore();
    const deps: Deps = { store, connector: realConnector(), clock: { now: () => new Date() }, onEvent: () => {}, actor: "test", env: {} };
    const kb = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"))![1]);
    const ssh = (t: SshTarget) => `${t.user}@${t.address}:${t.port}`;
    const bare = await addHost(deps, { name: "bare", ssh: ssh(noSftp), identityFile: noSftp.identityFile!, hostKey: noSftp.hostKey!, remoteRoot: REMOTE_ROOT });
    expect(bare).toMatchObject({ transfer: "exec", memTotalMb: Math.floor(kb / 1024), docker: { ok: true } });
    expect(await store.hosts.get("bare")).toMatchObject({ transfer: "exec", memTotalMb: Math.floor(kb / 1024) });
    const full = await addHost(deps, { name: "full", ssh: ssh(normal), identityFile: normal.identityFile!, hostKey: normal.hostKey! });
    expect(full).toMatchObject({ transfer: "sftp", memTotalMb: Math.floor(kb / 1024) });

    // As if the host had been rebuilt without SFTP.
    await store.hosts.update("bare", { transfer: "sftp" });
    const rekeyed = await rekeyHost(deps, "bare", { hostKey: noSftp.hostKey! });
    expect(rekeyed.transfer).toBe("exec");
    expect(await store.hosts.get("bare")).toMatchObject({ transfer: "exec", hostKey: noSftp.hostKey });
  });
});

/** The CLI's connector (src/index.ts) without the pool: each probe is its own connection. */
function realConnector(): Connector {
  return {
    shell: () => Promise.reject(new Error("not used")),
    async probe(target, { acceptNew }) {
      const c = await connectSsh(target, { acceptNew });
      return { fingerprint: c.fingerprint, shell: c, close: () => c.close() };
    },
    forget: () => {},
    closeAll: async () => {},
  };
}
