import { readFileSync } from "node:fs";
import ssh2 from "ssh2";
import type { ParsedKey } from "ssh2";
import { InputError } from "../errors.js";

export const PASSPHRASE_ENV = "CLAWFLEET_SSH_PASSPHRASE";

/** The one auth method to use: a decrypted private key, or an agent socket. */
export type SshAuth = { type: "publickey"; key: ParsedKey } | { type: "agent"; agent: string };

/**
 * Loads the identity file, or falls back to ssh-agent. Problems surface here, before any socket
 * opens, as InputErrors that name the file and the fix.
 */
export function resolveAuth(identityFile: string | null | undefined, passphrase?: string, agentSocket?: string): SshAuth {
  if (!identityFile) {
    if (agentSocket) return { type: "agent", agent: agentSocket };
    throw new InputError(
      "no SSH identity: the host has no identity file and SSH_AUTH_SOCK is not set",
      "pass --identity FILE when adding the host, or start ssh-agent and ssh-add your key",
    );
  }
  // Parsed (and decrypted: bcrypt, ~0.3 s) once here; ssh2 takes the parsed key as is.
  const parsed = ssh2.utils.parseKey(readIdentity(identityFile), passphrase);
  if (parsed instanceof Error) throw keyError(identityFile, parsed, passphrase);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key.getPrivatePEM() === null) {
    throw new InputError(
      `SSH identity ${identityFile} holds no private key`,
      "point --identity at the private key (the file without .pub)",
    );
  }
  return { type: "publickey", key };
}

function readIdentity(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "does not exist" : code === "EACCES" ? "is not readable" : `cannot be read (${code})`;
    throw new InputError(
      `SSH identity file ${file} ${why}`,
      "fix the path with `clawfleet hosts add … --identity FILE`, or check the file's owner and mode (0600)",
    );
  }
}

function keyError(file: string, err: Error, passphrase: string | undefined): InputError {
  const encrypted = /passphrase|encrypted|decrypt/i.test(err.message);
  if (!encrypted) {
    return new InputError(
      `SSH identity file ${file} is not a private key ssh can use (${err.message})`,
      "use an OpenSSH or PEM private key, e.g. one made by ssh-keygen -t ed25519",
    );
  }
  const what = passphrase === undefined ? "is encrypted and no passphrase was given" : "could not be decrypted: wrong passphrase";
  return new InputError(
    `SSH identity file ${file} ${what}`,
    `set ${PASSPHRASE_ENV} to the key's passphrase, or load the key into ssh-agent and drop --identity`,
  );
}
