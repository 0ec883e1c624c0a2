import { describe, expect, it } from "vitest";
import { apiKeyFingerprint, generateGatewayToken, GATEWAY_TOKEN_RE, selfTestTokenGenerator, sha256Hex } from "../../../src/domain/secrets.js";

describe("secrets", () => {
  it("generates 64-hex tokens that pass the self-test", () => {
    expect(generateGatewayToken()).toMatch(GATEWAY_TOKEN_RE);
    expect(selfTestTokenGenerator()).toEqual([]);
  });
  it("self-test catches a bad or repeating generator", () => {
    expect(selfTestTokenGenerator(() => "abc")[0]).toMatch(/not 64 lowercase hex/);
    expect(selfTestTokenGenerator(() => "A".repeat(64))[0]).toMatch(/not 64 lowercase hex/);
    let i = 0;
    expect(selfTestTokenGenerator(() => (i++ % 10).toString(16).padStart(64, "0"))).toEqual(["990 repeated tokens in 1000 draws"]);
  });
  it("hashes and fingerprints without revealing the input", () => {
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const fp = apiKeyFingerprint("sk-ant-secret-key");
    expect(fp).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(fp).not.toContain("secret");
  });
});
