/** Error codes of the public contract. The CLI maps them to exit statuses; library callers map them as they wish. */
export type ErrorCode = "FAILED" | "INPUT" | "NOT_FOUND" | "CONFLICT" | "HOST_KEY";

/** Base class of every error clawfleet throws on purpose. `hint` says how to fix it. */
export class ClawfleetError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  constructor(code: ErrorCode, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.hint = hint;
  }
}

/** Bad input: usage or validation (exit 2). */
export class InputError extends ClawfleetError {
  constructor(message: string, hint?: string) {
    super("INPUT", message, hint);
  }
}

/** A named thing does not exist (exit 3). */
export class NotFoundError extends ClawfleetError {
  constructor(message: string, hint?: string) {
    super("NOT_FOUND", message, hint);
  }
}

/** Already exists, or locked (exit 4). */
export class ConflictError extends ClawfleetError {
  constructor(message: string, hint?: string) {
    super("CONFLICT", message, hint);
  }
}

/** Host key mismatch or unknown host key (exit 5). */
export class HostKeyError extends ClawfleetError {
  readonly host: string;
  readonly expected?: string;
  readonly actual?: string;
  constructor(host: string, message: string, details: { expected?: string; actual?: string; hint?: string } = {}) {
    super("HOST_KEY", message, details.hint);
    this.host = host;
    this.expected = details.expected;
    this.actual = details.actual;
  }
}

/** The operation failed on the remote side or could not reach it (exit 1). */
export class RemoteCommandError extends ClawfleetError {
  readonly host: string;
  readonly step: string;
  readonly exitCode: number | null;
  readonly stderrTail: string;
  constructor(
    host: string,
    step: string,
    message: string,
    details: { exitCode?: number | null; stderrTail?: string; hint?: string; cause?: unknown } = {},
  ) {
    super("FAILED", message, details.hint, { cause: details.cause });
    this.host = host;
    this.step = step;
    this.exitCode = details.exitCode ?? null;
    this.stderrTail = details.stderrTail ?? "";
  }
}

/** The local database file cannot be opened or read: corrupt, not a database, a directory, no permission (exit 1). */
export class DatabaseFileError extends ClawfleetError {
  /** The file as given in the database URL. */
  readonly file: string;
  constructor(file: string, message: string, hint: string, options?: { cause?: unknown }) {
    super("FAILED", message, hint, options);
    this.file = file;
  }
}

/** Exit status for an error code, as in the CLI contract. */
export const EXIT_CODES: Record<ErrorCode, number> = {
  FAILED: 1,
  INPUT: 2,
  NOT_FOUND: 3,
  CONFLICT: 4,
  HOST_KEY: 5,
};
