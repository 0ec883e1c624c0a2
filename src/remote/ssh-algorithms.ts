import type { Algorithms } from "ssh2";

/**
 * The only algorithms clawfleet offers. curve25519 is the sole kex: ecdh-sha2-nistp* is left out on
 * purpose so a server that cannot do curve25519 (OpenSSH < 6.5, 2014) fails loudly instead of quietly.
 * ssh2 appends the strict-kex (Terrapin) and ext-info markers itself.
 */
export const MODERN_KEX = ["curve25519-sha256", "curve25519-sha256@libssh.org"] as const;
export const MODERN_CIPHERS = [
  "chacha20-poly1305@openssh.com",
  "aes256-gcm@openssh.com",
  "aes128-gcm@openssh.com",
] as const;
export const MODERN_MACS = ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com"] as const;

/** Host key algorithms grouped by key type: a pinned fingerprint belongs to exactly one group. */
export const HOST_KEY_FAMILIES: readonly (readonly string[])[] = [
  ["ssh-ed25519"],
  ["ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"],
  ["rsa-sha2-512", "rsa-sha2-256"],
];

/** The algorithm offer for ssh2, optionally restricted to some host key families. */
export function modernAlgorithms(hostKeyFamilies = HOST_KEY_FAMILIES): Algorithms {
  return {
    kex: [...MODERN_KEX],
    serverHostKey: hostKeyFamilies.flat() as Algorithms["serverHostKey"],
    cipher: [...MODERN_CIPHERS],
    hmac: [...MODERN_MACS],
    compress: ["none"],
  } as Algorithms;
}

/** The host key family (index in HOST_KEY_FAMILIES) of a raw public key blob, from its type name. */
export function hostKeyFamilyOf(rawKey: Buffer): number {
  const len = rawKey.length >= 4 ? rawKey.readUInt32BE(0) : 0;
  const type = rawKey.subarray(4, 4 + len).toString("latin1");
  if (type === "ssh-rsa") return 2;
  return HOST_KEY_FAMILIES.findIndex((family) => family.includes(type));
}
