import { describe, expect, it } from "vitest";
import { HostKeyError, RemoteCommandError } from "../../../src/errors.js";
import { connectError, hostKeyMismatch, hostKeyUnpinned } from "../../../src/remote/ssh-errors.js";

const target = { name: "sbx-1", address: "127.0.1.1", port: 2222, user: "cfsandbox" };
const lowLevel = (message: string, extra: object) => Object.assign(new Error(message), extra);

describe("connectError", () => {
  it("turns a refused connection into one line with a hint", () => {
    const err = connectError(target, lowLevel("connect ECONNREFUSED 127.0.1.1:2222", { code: "ECONNREFUSED" }), 10_000);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err).toMatchObject({ step: "connect", host: "sbx-1", exitCode: null });
    expect(err.message).toBe("cannot reach sbx-1 at 127.0.1.1:2222: connection refused");
    expect(err.hint).toContain("ssh -p 2222 cfsandbox@127.0.1.1");
  });

  it("brackets an IPv6 address", () => {
    const err = connectError({ ...target, address: "::1" }, lowLevel("x", { code: "EHOSTUNREACH" }), 10_000);
    expect(err.message).toBe("cannot reach sbx-1 at [::1]:2222: host unreachable");
  });

  it("reports a handshake timeout with the limit", () => {
    const err = connectError(target, lowLevel("Timed out while waiting for handshake", { level: "client-timeout" }), 10_000);
    expect(err.message).toBe("cannot reach sbx-1 at 127.0.1.1:2222: no SSH handshake within 10s");
  });

  it("reports failed authentication for user@host", () => {
    const err = connectError(target, lowLevel("All configured authentication methods failed", { level: "client-authentication" }), 1);
    expect(err.message).toBe("authentication failed for cfsandbox@127.0.1.1 (sbx-1)");
    expect(err.hint).toContain("authorized_keys");
  });

  it("explains a failed algorithm negotiation", () => {
    const err = connectError(target, lowLevel("Handshake failed: no matching key exchange algorithm", { level: "handshake" }), 1);
    expect(err.message).toContain("no matching key exchange algorithm");
    expect(err.hint).toContain("curve25519");
  });
});

describe("host key errors", () => {
  it("names host, expected and actual, and the rekey command", () => {
    const err = hostKeyMismatch(target, "SHA256:old", "SHA256:new");
    expect(err).toBeInstanceOf(HostKeyError);
    expect(err).toMatchObject({ code: "HOST_KEY", host: "sbx-1", expected: "SHA256:old", actual: "SHA256:new" });
    expect(err.message).toContain("expected SHA256:old, got SHA256:new");
    expect(err.hint).toContain("clawfleet hosts rekey sbx-1 --host-key SHA256:new");
  });

  it("refuses an unpinned host and says how to pin it", () => {
    const err = hostKeyUnpinned(target, "SHA256:new");
    expect(err.message).toContain("no pinned host key");
    expect(err.hint).toContain("--accept-new");
  });
});
