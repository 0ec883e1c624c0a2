/** POSIX single-quoting: the only way a value reaches a shell, local or remote. */
export function shellQuote(value: string): string {
  if (value.includes("\0")) throw new TypeError("a NUL byte cannot be passed to a shell");
  return "'" + value.replaceAll("'", "'\\''") + "'";
}
