export { fingerprintOf, parseFingerprint, parseSshSpec, type SshSpec } from "./fingerprint.js";
export { MODERN_CIPHERS, MODERN_KEX, MODERN_MACS, HOST_KEY_FAMILIES } from "./ssh-algorithms.js";
export { PASSPHRASE_ENV } from "./ssh-auth.js";
export {
  connectSsh,
  sshEnvOptions,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_KEEPALIVE_COUNT_MAX,
  DEFAULT_KEEPALIVE_INTERVAL_MS,
  DEFAULT_MAX_CHANNELS,
  type ConnectOptions,
  type SshConnection,
} from "./ssh-connection.js";
export { KILL_AFTER_S, wrapCommand } from "./ssh-exec.js";
export { SshPool, type SshPoolOptions } from "./ssh-pool.js";
export { STALE_TEMP_MS } from "./ssh-upload.js";
export type { ExecOptions, ExecResult, RemoteShell, SshTarget, TransferKind, UploadFile } from "./types.js";
