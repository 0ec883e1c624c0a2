import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { InputError } from "../../../src/errors.js";
import { fingerprintOf, parseFingerprint, parseSshSpec } from "../../../src/remote/fingerprint.js";

const FIXTURES = new URL("../../fixtures/ssh/", import.meta.url);
const recorded = new Map(
  readFileSync(new URL("fingerprints.txt", FIXTURES), "utf8")
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split(" ") as [string, string]),
);

function rawKey(pubFile: string): Buffer {
  const [, b64] = readFileSync(new URL(pubFile, FIXTURES), "utf8").trim().split(/\s+/);
  return Buffer.from(b64!, "base64");
}

describe("fingerprintOf", () => {
  it.each([...recorded.keys()])("matches ssh-keygen -lf for %s", (pub) => {
    expect(fingerprintOf(rawKey(pub))).toBe(recorded.get(pub));
  });

  it("has no base64 padding and 43 characters of digest", () => {
    expect(fingerprintOf(Buffer.from("x"))).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});

describe("parseFingerprint", () => {
  it("accepts and trims a valid fingerprint", () => {
    expect(parseFingerprint("  SHA256:nXD0YF+KLrKX9dwRL0b7eNB+xDER3SjP0wsXqsIPNv4\n")).toBe(
      "SHA256:nXD0YF+KLrKX9dwRL0b7eNB+xDER3SjP0wsXqsIPNv4",
    );
  });

  it.each([
    "",
    "nXD0YF+KLrKX9dwRL0b7eNB+xDER3SjP0wsXqsIPNv4",
    "SHA256:nXD0YF+KLrKX9dwRL0b7eNB+xDER3SjP0wsXqsIPNv4=",
    "SHA256:short",
    "MD5:9d:2d:1c:5a:6e:1e:90:2b:7c:0c:2b:48:d2:4c:5c:2f",
    "sha256:nXD0YF+KLrKX9dwRL0b7eNB+xDER3SjP0wsXqsIPNv4",
    "SHA256:nXD0YF-KLrKX9dwRL0b7eNB_xDER3SjP0wsXqsIPNv4",
  ])("rejects %j with a hint naming --host-key and ssh-keyscan", (bad) => {
    const err = catchError(() => parseFingerprint(bad));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain("--host-key");
    expect(err.hint).toBe("get it from a trusted network with: ssh-keyscan -p PORT HOST | ssh-keygen -lf -");
  });
});

describe("parseSshSpec", () => {
  it.each([
    ["deploy@203.0.113.7", { user: "deploy", address: "203.0.113.7", port: 22 }],
    ["deploy@203.0.113.7:2222", { user: "deploy", address: "203.0.113.7", port: 2222 }],
    ["cf_sandbox@vps-12.example.com:22", { user: "cf_sandbox", address: "vps-12.example.com", port: 22 }],
    ["root@[2001:db8::1]:2200", { user: "root", address: "2001:db8::1", port: 2200 }],
    ["root@[::1]", { user: "root", address: "::1", port: 22 }],
    [" ops@127.0.1.1:2222 ", { user: "ops", address: "127.0.1.1", port: 2222 }],
  ])("parses %s", (spec, want) => {
    expect(parseSshSpec(spec)).toEqual(want);
  });

  it.each([
    ["203.0.113.7", "missing USER@"],
    ["@203.0.113.7", "missing USER@"],
    ["deploy@", "missing address"],
    ["deploy@host:", 'invalid port ""'],
    ["deploy@host:0", "port 0 is out of range"],
    ["deploy@host:65536", "port 65536 is out of range"],
    ["deploy@host:22x", 'invalid port "22x"'],
    ["deploy@2001:db8::1", "IPv6 addresses must be written in brackets"],
    ["deploy@[2001:db8::1", "unclosed ["],
    ["deploy@[2001:db8::1]x", 'unexpected "x" after ]'],
    ["deploy@[host]:22", "is not an IPv6 address"],
    ["de ploy@host", "invalid user"],
    ["deploy@-oProxyCommand=x", "invalid address"],
    ["deploy@ho$t", "invalid address"],
  ])("rejects %s (%s)", (spec, why) => {
    const err = catchError(() => parseSshSpec(spec));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain("--ssh: ");
    expect(err.message).toContain(why);
    expect(err.hint).toContain("USER@ADDRESS[:PORT]");
  });
});

function catchError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    return err as InputError;
  }
  throw new Error("expected an error");
}
