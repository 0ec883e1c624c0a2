/** How to reach one host over SSH. `hostKey` is the pinned "SHA256:…" fingerprint. */
export interface SshTarget {
  name: string;
  address: string;
  port: number;
  user: string;
  identityFile?: string | null;
  hostKey?: string | null;
}

export interface ExecOptions {
  /** Sent on the channel's stdin, then EOF. The way secrets reach a remote process. */
  stdin?: string | Buffer;
  /** Kills the remote process and resolves with timedOut when exceeded. */
  timeoutMs?: number;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  signal?: AbortSignal;
  /** Only stream to onStdout/onStderr; the result's stdout/stderr stay empty (for endless follows). */
  streamOnly?: boolean;
  /**
   * Binary stdout: every byte goes to this stream, with backpressure (a slow sink slows the remote
   * writer); the result's stdout stays empty, and the exec resolves once the last byte has been
   * handed to the sink (ending the sink and waiting for it is the caller's part).
   */
  stdoutSink?: NodeJS.WritableStream;
  /** Binary stdin, piped in and then EOF (instead of `stdin`). An error in it ends the channel. */
  stdinStream?: NodeJS.ReadableStream;
}

/** A non-zero exit is data, not an exception. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal?: string;
  timedOut: boolean;
}

export interface UploadFile {
  /** Absolute remote path. */
  path: string;
  content: string | Buffer;
  /** Final mode, e.g. 0o600. The temp file is always created 0600. */
  mode: number;
}

/** How uploads reach a host: SFTP, or a piped transfer over exec on hosts without an SFTP subsystem. */
export type TransferKind = "sftp" | "exec";

/** The remote side as use cases see it. Only src/remote/ssh*.ts implements it over a socket. */
export interface RemoteShell {
  readonly hostName: string;
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /** Atomic per file: 0600 temp file, fsync, chmod, posix-rename. Parent dirs must exist. */
  upload(files: UploadFile[]): Promise<void>;
  /** Hint that an upload follows soon: open the file channel now, overlapping other round trips. */
  warmSftp?(): void;
  /** What uploads use on this connection, probing once (an SFTP session) if not known yet. */
  transfer?(): Promise<TransferKind>;
}

/** One HTTPS request to a host's public address, named by SNI (the ingress checks of test-deploy). */
export interface HttpsRequest {
  /** Where to connect: the host's ingress address. */
  address: string;
  port?: number;
  /** The site's name: TLS SNI, certificate check and Host header. */
  servername: string;
  /** Path and query, e.g. "/healthz". */
  path: string;
  headers?: Record<string, string>;
  /** PEM CA to trust instead of the system's (the proxy's local CA under `tls: internal`). */
  ca?: string;
  timeoutMs?: number;
}

export interface HttpsResponse {
  status: number;
  /** Lowercased names; set-cookie joined by "\n". */
  headers: Record<string, string>;
}

export interface HttpsProbe {
  /** Never follows redirects; rejects on connection or TLS failure. */
  get(req: HttpsRequest): Promise<HttpsResponse>;
}
