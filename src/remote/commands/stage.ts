import { instancePaths } from "./instance.js";
import { shq } from "./quote.js";
import { SESSION_COOKIE, proxyPaths } from "../../domain/proxy-paths.js";

/** The cookie's name in the site file, before its `=<session secret>`. */
const SESSION_MARK = `${SESSION_COOKIE}=`;

/** The .env keys a re-render must carry over from the host; their values never leave memory. */
export const CARRIED_KEYS = ["OPENCLAW_GATEWAY_TOKEN", "ANTHROPIC_API_KEY"] as const;

/**
 * One round trip before a re-render: create the staging dir and print the secrets the host's .env
 * holds now, so an upgrade keeps the customer's token and API key. The values come back on the
 * channel's stdout only: never in argv, a log or an event.
 */
export function stageCommand(root: string, customerId: string): string {
  const { dir, staged } = instancePaths(root, customerId);
  const env = shq(dir + "/.env");
  return [
    "set -eu",
    "umask 077",
    `mkdir -p ${shq(staged)} && chmod 700 ${shq(dir)} ${shq(staged)}`,
    `if [ -f ${env} ]; then echo env=present; grep -E '^(${CARRIED_KEYS.join("|")})=' ${env} || true; else echo env=missing; fi`,
    // The proxy session secret, so an upgrade keeps customers' cookies valid.
    `s=$(grep -oE '${SESSION_MARK}[0-9a-f]{64}' ${shq(proxyPaths(root).site(customerId))} 2>/dev/null | head -n 1) || true`,
    `if [ -n "$s" ]; then echo "session=\${s#${SESSION_MARK}}"; fi`,
  ].join("\n");
}

export interface CarriedSecrets {
  envPresent: boolean;
  gatewayToken: string | null;
  apiKey: string | null;
  /** The live site's session secret, or null without a site. */
  sessionSecret: string | null;
}

export function parseStage(stdout: string): CarriedSecrets {
  const value = (key: string) => {
    const m = new RegExp(`^${key}=(.*)$`, "m").exec(stdout);
    const v = m?.[1]?.trim();
    return v ? v : null;
  };
  return {
    envPresent: /^env=present$/m.test(stdout),
    gatewayToken: value("OPENCLAW_GATEWAY_TOKEN"),
    apiKey: value("ANTHROPIC_API_KEY"),
    sessionSecret: /^session=([0-9a-f]{64})$/m.exec(stdout)?.[1] ?? null,
  };
}

/** Prints `token-sha256=<hex>` of the token in the host's .env (empty when there is none); the token itself never leaves the host. */
export function tokenHashCommand(root: string, customerId: string): string {
  const env = shq(instancePaths(root, customerId).dir + "/.env");
  return [
    "set -u",
    `t=$(sed -n 's/^OPENCLAW_GATEWAY_TOKEN=//p' ${env} 2>/dev/null | head -n 1)`,
    `if [ -n "$t" ]; then printf 'token-sha256=%s\\n' "$(printf '%s' "$t" | sha256sum | cut -d' ' -f1)"; else echo token-sha256=; fi`,
  ].join("\n");
}

export function parseTokenHash(stdout: string): string | null {
  return /^token-sha256=([0-9a-f]{64})$/m.exec(stdout)?.[1] ?? null;
}
