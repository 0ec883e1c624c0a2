export { connectSsh, type ConnectOptions, type SshConnection } from "./ssh-connection.js";
export { SshPool, type SshPoolOptions } from "./ssh-pool.js";
export type { ExecOptions, ExecResult, RemoteShell, SshTarget, TransferKind, UploadFile } from "./types.js";
