/** POSIX single-quoting: the only safe way a value reaches a remote shell. */
export function shq(value: string): string {
  return "'" + value.replace(/'/g, `'\\''`) + "'";
}
