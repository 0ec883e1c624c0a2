import { InputError } from "../errors.js";

/** One DNS label (RFC 1123): 1-63 lowercase letters, digits and '-', not starting or ending with '-'. */
export const DNS_LABEL_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Names a customer must not get: they look like the operator's own services. */
export const RESERVED_SUBDOMAINS: readonly string[] = [
  "www", "admin", "api", "app", "auth", "login", "mail", "smtp", "imap", "pop", "ftp", "ns", "ns1", "ns2",
  "dns", "mx", "status", "health", "metrics", "grafana", "docs", "help", "support", "billing", "dashboard",
  "console", "static", "assets", "cdn", "root", "proxy", "gateway", "clawfleet", "localhost", "autoconfig",
  "autodiscover", "_acme-challenge",
];

/** Returns the label, or throws InputError naming `field`: not a DNS label, or reserved. */
export function checkSubdomain(name: unknown, field = "--subdomain"): string {
  const shown = typeof name === "string" ? JSON.stringify(name.slice(0, 80)) : String(name);
  if (typeof name !== "string" || !DNS_LABEL_RE.test(name)) {
    throw new InputError(`${field}: ${shown} is not a DNS label`, "use 1-63 lowercase letters, digits or '-', not starting or ending with '-'");
  }
  if (RESERVED_SUBDOMAINS.includes(name)) {
    throw new InputError(`${field}: ${shown} is reserved`, "pick another name; reserved: " + RESERVED_SUBDOMAINS.slice(0, 8).join(", ") + ", …");
  }
  return name;
}

/** The public site of an instance: `<subdomain>.<domain>`. */
export function siteHost(subdomain: string, domain: string): string {
  return `${subdomain}.${domain}`;
}

export function publicUrl(subdomain: string, domain: string): string {
  return `https://${siteHost(subdomain, domain)}/`;
}

/** The one-time login link: the only URL that ever carries the token. */
export function loginUrl(subdomain: string, domain: string, token: string): string {
  return `${publicUrl(subdomain, domain)}?token=${token}`;
}
