/** Memory/disk sizes in Docker's notation (`512m`, `2g`) and durations (`90s`, `7d`). Pure. */

const SIZE_RE = /^([1-9][0-9]*)([bkmg])$/;
const SIZE_UNITS = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as const;

const DURATION_RE = /^([1-9][0-9]*)(ms|s|m|h|d)$/;
const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Bytes in a size like `512m`; null when the text is not one. */
export function parseSize(text: string): number | null {
  const m = SIZE_RE.exec(text);
  if (!m) return null;
  return Number(m[1]) * SIZE_UNITS[m[2] as keyof typeof SIZE_UNITS];
}

/** Milliseconds in a duration like `90s` or `7d`; null when the text is not one. */
export function parseDuration(text: string): number | null {
  const m = DURATION_RE.exec(text);
  if (!m) return null;
  return Number(m[1]) * DURATION_UNITS[m[2] as keyof typeof DURATION_UNITS];
}

/** A Go-style duration (`5s`, `1500ms`) as Docker and Compose accept it; Go has no `d` unit. */
export function goDuration(ms: number): string {
  if (!Number.isInteger(ms) || ms <= 0) throw new RangeError(`duration must be a positive whole number of ms, got ${ms}`);
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Whole seconds, rounded up, so a timeout never shrinks. */
export function toSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}
