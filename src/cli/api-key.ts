import { readFile } from "node:fs/promises";
import { InputError } from "../errors.js";

/**
 * The customer's API key, never from argv: `--api-key-file FILE`, `--api-key-file -` (stdin), or,
 * where `env` is allowed, CLAWFLEET_API_KEY. Undefined when none is given.
 */
export async function readApiKey(file: string | undefined, opts: { env?: boolean } = { env: true }): Promise<string | undefined> {
  if (!file) return opts.env ? process.env.CLAWFLEET_API_KEY || undefined : undefined;
  const source = file === "-" ? "stdin" : file;
  let text: string;
  try {
    text = file === "-" ? await readStdin() : await readFile(file, "utf8");
  } catch (err) {
    throw new InputError(`--api-key-file: cannot read ${source} (${(err as NodeJS.ErrnoException).code ?? "error"})`, "point it at a readable file that holds only the key, or use - to pipe it in");
  }
  const key = text.trim();
  if (!key || /\s/.test(key)) throw new InputError(`--api-key-file: ${source} must hold exactly one key on one line`, "write only the key into the file");
  return key;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw Object.assign(new Error("stdin is a terminal"), { code: "ETTY" });
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
