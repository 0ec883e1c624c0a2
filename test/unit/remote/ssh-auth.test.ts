import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { InputError } from "../../../src/errors.js";
import { PASSPHRASE_ENV, resolveAuth } from "../../../src/remote/ssh-auth.js";

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/ssh/${name}`, import.meta.url));

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error("expected an InputError");
}

describe("resolveAuth", () => {
  it("loads an unencrypted identity", () => {
    const auth = resolveAuth(fixture("id_ed25519"));
    expect(auth.type === "publickey" && auth.key.type).toBe("ssh-ed25519");
  });

  it("loads an encrypted identity with the right passphrase", () => {
    const auth = resolveAuth(fixture("id_ed25519_encrypted"), "correct horse battery");
    expect(auth.type === "publickey" && auth.key.isPrivateKey()).toBe(true);
  });

  it("names the file and the env var when the passphrase is missing", () => {
    const err = inputError(() => resolveAuth(fixture("id_ed25519_encrypted")));
    expect(err.message).toContain(fixture("id_ed25519_encrypted"));
    expect(err.message).toContain("no passphrase");
    expect(err.hint).toContain(PASSPHRASE_ENV);
  });

  it("says the passphrase is wrong, without echoing it", () => {
    const err = inputError(() => resolveAuth(fixture("id_ed25519_encrypted"), "hunter2"));
    expect(err.message).toContain("wrong passphrase");
    expect(`${err.message} ${err.hint}`).not.toContain("hunter2");
    expect(err.hint).toContain("CLAWFLEET_SSH_PASSPHRASE");
  });

  it("names a missing identity file and how to fix it", () => {
    const err = inputError(() => resolveAuth("/nonexistent/id_ed25519"));
    expect(err.message).toBe("SSH identity file /nonexistent/id_ed25519 does not exist");
    expect(err.hint).toContain("--identity");
  });

  it("refuses a public key given as the identity", () => {
    const err = inputError(() => resolveAuth(fixture("id_ed25519.pub")));
    expect(err.message).toContain("holds no private key");
  });

  it("refuses a file that is no key at all", () => {
    const err = inputError(() => resolveAuth(fixture("fingerprints.txt")));
    expect(err.message).toContain("is not a private key");
  });

  it("falls back to ssh-agent without an identity file", () => {
    expect(resolveAuth(null, undefined, "/run/agent.sock")).toEqual({ type: "agent", agent: "/run/agent.sock" });
  });

  it("explains the two ways to authenticate when there is neither", () => {
    const err = inputError(() => resolveAuth(undefined, undefined, undefined));
    expect(err.message).toContain("SSH_AUTH_SOCK");
    expect(err.hint).toContain("--identity");
  });
});
