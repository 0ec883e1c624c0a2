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
