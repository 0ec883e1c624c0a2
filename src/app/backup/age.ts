import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadable } from "node:stream/web";
import { ClawfleetError, InputError } from "../../errors.js";

// age-encryption is ESM with web streams; loaded only when a backup is encrypted or decrypted.
const age = () => import("age-encryption");

/** A recipient as age prints it (age1…); checked by the library itself. */
export async function checkRecipient(raw: string, source = "CLAWFLEET_BACKUP_RECIPIENT"): Promise<string> {
  const recipient = raw.trim();
  try {
    const enc = new (await age()).Encrypter();
    enc.addRecipient(recipient);
  } catch (err) {
    throw new InputError(`${source}: not an age recipient (${(err as Error).message})`, "set it to a public key like age1… (from `age-keygen -y key.txt`)");
  }
  return recipient;
}

export async function ageEncrypt(plain: NodeJS.ReadableStream, recipient: string): Promise<Readable> {
  const enc = new (await age()).Encrypter();
  enc.addRecipient(recipient);
  const web = Readable.toWeb(Readable.from(plain)) as unknown as ReadableStream<Uint8Array>;
  return Readable.fromWeb((await enc.encrypt(web)) as unknown as WebReadable<Uint8Array>);
}

export async function ageDecrypt(cipher: NodeJS.ReadableStream, identity: string): Promise<Readable> {
  const dec = new (await age()).Decrypter();
  dec.addIdentity(identity);
  const web = Readable.toWeb(Readable.from(cipher)) as unknown as ReadableStream<Uint8Array>;
  try {
    return Readable.fromWeb((await dec.decrypt(web)) as unknown as WebReadable<Uint8Array>);
  } catch (err) {
    throw new ClawfleetError("FAILED", `cannot decrypt the backup: ${(err as Error).message}`, "check that CLAWFLEET_BACKUP_IDENTITY_FILE holds the key its recipient belongs to");
  }
}

/** The age identity (AGE-SECRET-KEY-1…) from CLAWFLEET_BACKUP_IDENTITY_FILE: a path, never the key itself in the environment. */
export async function loadIdentity(env: NodeJS.ProcessEnv): Promise<string> {
  const file = env.CLAWFLEET_BACKUP_IDENTITY_FILE;
  if (!file) throw new InputError("this backup is encrypted and CLAWFLEET_BACKUP_IDENTITY_FILE is not set", "point it at the age identity file (age-keygen's output) whose recipient encrypted it");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new InputError(`CLAWFLEET_BACKUP_IDENTITY_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
  const key = text.split("\n").map((l) => l.trim()).find((l) => l.startsWith("AGE-SECRET-KEY-"));
  if (!key) throw new InputError(`CLAWFLEET_BACKUP_IDENTITY_FILE: ${file} holds no AGE-SECRET-KEY- line`);
  return key;
}
