import { instancePaths } from "./instance.js";
import { shq } from "./quote.js";

const KEY_RE = /^[A-Z][A-Z0-9_]*$/;

/**
 * Lists the keys of the instance's .env and its mode, prints the values of the `shown` keys only
 * (the plan's settable, non-secret variables), and for the token and API key only their hashes,
 * so no secret leaves the host. `shown` are validated variable names.
 */
export function envViewCommand(root: string, customerId: string, shown: string[]): string {
  const keys = shown.filter((k) => KEY_RE.test(k));
  const hashOf = (key: string, label: string) =>
    `v=$(sed -n 's/^${key}=//p' "$f" | head -n 1); if [ -n "$v" ]; then printf '${label}=%s\\n' "$(printf '%s' "$v" | sha256sum | cut -d' ' -f1)"; fi`;
  return [
    "set -u",
    `f=${shq(instancePaths(root, customerId).dir + "/.env")}`,
    'if [ ! -f "$f" ]; then echo env=missing; exit 0; fi',
    'echo "env=present mode=$(stat -c %a "$f")"',
    `sed -n 's/^\\([A-Za-z_][A-Za-z0-9_]*\\)=.*$/key=\\1/p' "$f"`,
    ...(keys.length > 0 ? [`grep -E '^(${keys.join("|")})=' "$f" | sed 's/^/value=/' || true`] : []),
    hashOf("OPENCLAW_GATEWAY_TOKEN", "token-sha256"),
    hashOf("ANTHROPIC_API_KEY", "apikey-sha256"),
  ].join("\n");
}

export interface EnvView {
  file: "present" | "missing";
  /** Octal, e.g. "600"; null when missing. */
  mode: string | null;
  /** In file order. */
  keys: string[];
  /** Only the shown keys. */
  values: Record<string, string>;
  tokenSha256: string | null;
  apiKeySha256: string | null;
}

export function parseEnvView(stdout: string, shown: string[]): EnvView {
  const present = /^env=present\b/m.test(stdout);
  const keys: string[] = [];
  const values: Record<string, string> = {};
  for (const m of stdout.matchAll(/^key=([A-Za-z_][A-Za-z0-9_]*)$/gm)) if (!keys.includes(m[1]!)) keys.push(m[1]!);
  for (const m of stdout.matchAll(/^value=([A-Za-z_][A-Za-z0-9_]*)=(.*)$/gm)) {
    // Only keys asked for: a value line can never carry another variable's value.
    if (shown.includes(m[1]!) && !Object.hasOwn(values, m[1]!)) values[m[1]!] = m[2]!;
  }
  return {
    file: present ? "present" : "missing",
    mode: /^env=present mode=([0-7]{3,4})$/m.exec(stdout)?.[1] ?? null,
    keys,
    values,
    tokenSha256: /^token-sha256=([0-9a-f]{64})$/m.exec(stdout)?.[1] ?? null,
    apiKeySha256: /^apikey-sha256=([0-9a-f]{64})$/m.exec(stdout)?.[1] ?? null,
  };
}
