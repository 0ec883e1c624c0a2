import { createHash, randomBytes } from "node:crypto";

/** A fresh gateway token: 32 random bytes as 64 lowercase hex characters. Shown once, stored hashed. */
export function generateGatewayToken(): string {
  return randomBytes(32).toString("hex");
}

export const GATEWAY_TOKEN_RE = /^[0-9a-f]{64}$/;

/** SHA-256 of a string as lowercase hex: what the DB keeps instead of the token. */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** A short, non-reversible id of a customer API key (`sha256:` + 16 hex), safe for the DB and logs. */
export function apiKeyFingerprint(key: string): string {
  return "sha256:" + sha256Hex(key).slice(0, 16);
}

/** Problems with a token generator: 64 hex characters each, and `draws` draws all distinct. */
export function selfTestTokenGenerator(generate: () => string = generateGatewayToken, draws = 1000): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < draws; i++) {
    const token = generate();
    if (!GATEWAY_TOKEN_RE.test(token)) {
      problems.push(`draw ${i + 1} is not 64 lowercase hex characters (length ${token.length})`);
      break;
    }
    seen.add(token);
  }
  if (problems.length === 0 && seen.size !== draws) problems.push(`${draws - seen.size} repeated tokens in ${draws} draws`);
  return problems;
}

/** A proxy session secret: independent of the token (never derived from it), 64 hex characters. */
export function generateSessionSecret(): string {
  return randomBytes(32).toString("hex");
}
