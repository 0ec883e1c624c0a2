/**
 * Defence in depth for the audit log's free text: Event rows never hold secrets by design, but a
 * detail built from a remote error could quote one. Anything shaped like a token, key, bearer
 * credential or URL password is masked before it leaves the use case.
 */
const PATTERNS: [RegExp, string][] = [
  [/\b(sk-ant-|sk-)[A-Za-z0-9_-]{8,}/g, "$1***"],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, "$1 ***"],
  [/([?&;\s]|^)(token|gateway_token|api_key|apikey|password|secret)=([^&\s"']+)/gi, "$1$2=***"],
  [/(OPENCLAW_GATEWAY_TOKEN|ANTHROPIC_API_KEY|CLAWFLEET_[A-Z_]*(?:KEY|PASSPHRASE|SECRET))=([^\s"']+)/g, "$1=***"],
  [/(\/\/[^/\s:@]+):[^@\s/]+@/g, "$1:***@"],
  [/\b[0-9a-f]{40,}\b/gi, "***"],
];

export function redactSecrets(text: string): string {
  return PATTERNS.reduce((s, [re, to]) => s.replace(re, to), text);
}
