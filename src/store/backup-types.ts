/** A backup file on the control machine, as the app layer sees its row. Never holds a secret. */
export type BackupStatus = "running" | "ok" | "failed" | "pruned" | "purged";

/** "plan": counted against the plan's `keep`; "pinned": never pruned automatically. */
export type BackupRetention = "plan" | "pinned";

export interface BackupRecord {
  id: string;
  instanceId: string;
  customerId: string;
  hostName: string;
  /** The instance's plan when the backup was taken. */
  plan: string;
  /** "manual" (clawfleet backup), "schedule" (the daemon) or "pre-restore". */
  trigger: string;
  status: BackupStatus;
  retention: BackupRetention;
  /** When the backup started. */
  at: Date;
  finishedAt: Date | null;
  /** Size of the file as stored (ciphertext when encrypted). */
  bytes: number | null;
  /** SHA-256 (hex) of the file as stored. */
  sha256: string | null;
  /** SHA-256 of the tar stream (equal to sha256 unless encrypted). */
  plainSha256: string | null;
  encrypted: boolean;
  /** The age recipient (a public key) when encrypted. */
  recipient: string | null;
  /** Absolute path of the final file (set when the backup starts; the file exists only when ok). */
  path: string;
  /** Why it failed, without secrets. */
  detail: string | null;
}

export type NewBackup = Pick<BackupRecord, "instanceId" | "customerId" | "hostName" | "plan" | "trigger" | "retention" | "path" | "encrypted" | "recipient"> & { at: Date };

export type BackupPatch = Partial<Pick<BackupRecord, "status" | "finishedAt" | "bytes" | "sha256" | "plainSha256" | "detail" | "retention">>;

export interface BackupFilter {
  customerId?: string;
  /** Default: every status. */
  statuses?: BackupStatus[];
  /** Newest first; default 1000. */
  limit?: number;
}

export interface BackupRepo {
  /** Inserts a row in status "running". */
  create(input: NewBackup): Promise<BackupRecord>;
  get(id: string): Promise<BackupRecord | null>;
  update(id: string, patch: BackupPatch): Promise<BackupRecord>;
  /** Newest first (by `at`). */
  list(filter?: BackupFilter): Promise<BackupRecord[]>;
  /**
   * Per customer: the newest ok backup and the newest finished attempt (ok or failed), for the
   * schedule and the overdue count. One query, not one per instance.
   */
  latest(customerIds?: string[]): Promise<Map<string, { lastOk: BackupRecord | null; lastAttempt: BackupRecord | null }>>;
  /** Deletes rows (after their files are gone: destroy --purge-backups). */
  remove(ids: string[]): Promise<number>;
}
