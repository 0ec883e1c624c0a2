import os from "node:os";
import { InvalidArgumentError } from "commander";
import type { Fleet } from "../index.js";
import type { Output } from "./output.js";

/** Opens the library facade for one command, wired to the CLI's progress output, and always closes it. */
export async function withFleet<T>(out: Output, fn: (fleet: Fleet) => Promise<T>): Promise<T> {
  const { createFleet } = await import("../index.js");
  const fleet = await createFleet({ onEvent: out.onEvent, actor: `cli:${os.userInfo().username}` });
  try {
    return await fn(fleet);
  } finally {
    await fleet.close();
  }
}

export function intOption(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${flag} expects a positive whole number, got "${value}"`);
    return n;
  };
}
