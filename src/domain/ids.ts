import { InputError } from "../errors.js";

/** A customer id: it reaches paths, project names and commands, so no shell or path character fits. */
export const CUSTOMER_ID_RE = /^[a-z][a-z0-9-]{1,31}$/;

export function isCustomerId(id: unknown): id is string {
  return typeof id === "string" && CUSTOMER_ID_RE.test(id);
}

/** Returns the id, or throws InputError naming `--customer-id`. */
export function checkCustomerId(id: unknown, field = "--customer-id"): string {
  if (isCustomerId(id)) return id;
  // JSON.stringify keeps hostile input (newlines, escapes) inert in the message.
  const shown = typeof id === "string" ? JSON.stringify(id.slice(0, 64)) : String(id);
  throw new InputError(
    `${field}: ${shown} is not a valid customer id`,
    "use 2-32 characters: a lowercase letter, then lowercase letters, digits or '-'",
  );
}

/** Compose project name of an instance. */
export function projectName(customerId: string): string {
  return `cf-${customerId}`;
}

/** Named Docker volume holding an instance's data. */
export function dataVolumeName(customerId: string): string {
  return `cf-${customerId}-data`;
}

/** Customer ids under this prefix belong to `clawfleet test-deploy`: provision refuses them, and leftovers are removed. */
export const TEST_ID_PREFIX = "cf-test-";

export function isTestId(id: string): boolean {
  return id.startsWith(TEST_ID_PREFIX);
}

/** A fresh throwaway id, e.g. `cf-test-mfx3k2p1-9c4e` (time, then 16 random bits). */
export function newTestId(now: Date, random: () => number = Math.random): string {
  const rand = Math.floor(random() * 0x10000).toString(16).padStart(4, "0");
  return `${TEST_ID_PREFIX}${now.getTime().toString(36)}-${rand}`;
}
