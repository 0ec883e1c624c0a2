import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { HOST_KEY_FAMILIES, hostKeyFamilyOf, modernAlgorithms } from "../../../src/remote/ssh-algorithms.js";

const raw = (pub: string) =>
  Buffer.from(readFileSync(new URL(`../../fixtures/ssh/${pub}`, import.meta.url), "utf8").split(" ")[1]!, "base64");

describe("modernAlgorithms", () => {
  it("offers only modern kex, host key, cipher and MAC algorithms", () => {
    expect(modernAlgorithms()).toEqual({
      kex: ["curve25519-sha256", "curve25519-sha256@libssh.org"],
      serverHostKey: [
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "rsa-sha2-512",
        "rsa-sha2-256",
      ],
      cipher: ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com"],
      hmac: ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com"],
      compress: ["none"],
    });
  });

  it("can be restricted to some host key families", () => {
    expect(modernAlgorithms([HOST_KEY_FAMILIES[2]!]).serverHostKey).toEqual(["rsa-sha2-512", "rsa-sha2-256"]);
  });
});

describe("hostKeyFamilyOf", () => {
  it("reads the key type from the blob", () => {
    expect(hostKeyFamilyOf(raw("id_ed25519.pub"))).toBe(0);
    expect(hostKeyFamilyOf(raw("id_rsa.pub"))).toBe(2);
    expect(hostKeyFamilyOf(Buffer.alloc(2))).toBe(-1);
  });
});
