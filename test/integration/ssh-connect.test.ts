import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { HostKeyError, InputError, RemoteCommandError } from "../../src/errors.js";
import { connectSsh, type SshConnection } from "../../src/remote/index.js";
import type { SshTarget } from "../../src/remote/types.js";
import { describeSandbox, runSandbox, sandboxDir, sandboxHosts } from "./sandbox.js";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/ssh/${name}`, import.meta.url));
const WRONG_PIN = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

function target(): SshTarget {
  const h = sandboxHosts()[0]!;
  return { name: h.name, address: h.address, port: h.port, user: h.user, identityFile: h.identityFile, hostKey: h.fingerprint };
}

describeSandbox("SSH connect against the sandbox", () => {
  const open: SshConnection[] = [];
  afterAll(() => open.forEach((c) => c.close()));

  it("connects when the pin matches and reports the fingerprint", async () => {
    const conn = await connectSsh(target());
    open.push(conn);
    expect(conn.fingerprint).toBe(target().hostKey);
    const r = await conn.exec("id -un");
    expect(r).toMatchObject({ stdout: `${target().user}\n`, code: 0, timedOut: false });
  });

  it("refuses a wrong pin before sending any auth request", async () => {
    const debug: string[] = [];
    const err = await connectSsh({ ...target(), hostKey: WRONG_PIN }, { debug: (l) => debug.push(l) }).catch((e) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    expect(err).toMatchObject({ code: "HOST_KEY", host: target().name, expected: WRONG_PIN, actual: target().hostKey });
    expect(err.message).toContain(`expected ${WRONG_PIN}, got ${target().hostKey}`);
    expect(err.hint).toContain(`clawfleet hosts rekey ${target().name} --host-key ${target().hostKey}`);
    expect(debug.some((l) => l.includes("Host denied"))).toBe(true);
    expect(debug.filter((l) => /USERAUTH|SERVICE_REQUEST/.test(l))).toEqual([]);
  });

  it("refuses an unpinned host unless acceptNew, and then reports its key", async () => {
    const unpinned = { ...target(), hostKey: null };
    const err = await connectSsh(unpinned).catch((e) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    expect(err.actual).toBe(target().hostKey);
    const conn = await connectSsh(unpinned, { acceptNew: true });
    open.push(conn);
    expect(conn.fingerprint).toBe(target().hostKey);
    // acceptNew never overrides a pin.
    await expect(connectSsh({ ...target(), hostKey: WRONG_PIN }, { acceptNew: true })).rejects.toBeInstanceOf(HostKeyError);
  });

  it("fails the handshake with an sshd that offers only weak algorithms", async () => {
    const index = Number(target().name.replace(/\D+/g, ""));
    const started = await runSandbox(["weak", String(index)]);
    expect(started.code, started.stderr).toBe(0);
    const weak = JSON.parse(readFileSync(join(sandboxDir, `sbx-${index}`, "weak", "weak.json"), "utf8"));
    const weakTarget = { ...target(), name: weak.name, address: weak.address, port: weak.port, hostKey: weak.fingerprint };
    const err = await connectSsh(weakTarget)
      .catch((e) => e)
      .finally(() => runSandbox(["weak", String(index), "--stop"]));
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.step).toBe("connect");
    expect(err.message).toMatch(/^SSH handshake with .* failed: .*no matching/);
    expect(err.hint).toContain("curve25519");
  });

  it("gives an InputError for a missing identity file", async () => {
    const err = await connectSsh({ ...target(), identityFile: "/nonexistent/key" }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe("SSH identity file /nonexistent/key does not exist");
  });

  it("gives an InputError naming CLAWFLEET_SSH_PASSPHRASE for a wrong or missing passphrase", async () => {
    const encrypted = { ...target(), identityFile: fixture("id_ed25519_encrypted") };
    for (const passphrase of [undefined, "wrong"]) {
      const err = await connectSsh(encrypted, passphrase === undefined ? {} : { passphrase }).catch((e) => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.hint).toContain("CLAWFLEET_SSH_PASSPHRASE");
    }
  });

  it("reports failed authentication for user@host with a key the host does not know", async () => {
    const err = await connectSsh({ ...target(), identityFile: fixture("id_ed25519") }).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.step).toBe("connect");
    expect(err.message).toBe(`authentication failed for ${target().user}@${target().address} (${target().name})`);
  });

  it("reports a refused port in one line", async () => {
    const err = await connectSsh({ ...target(), port: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.message).toBe(`cannot reach ${target().name} at ${target().address}:1: connection refused`);
  });
});

