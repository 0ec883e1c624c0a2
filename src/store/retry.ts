/** Prisma/driver errors that mean "someone else wrote first": retry the whole unit of work. */
export function isRetryable(err: unknown): boolean {
  const e = err as { code?: string; message?: string; cause?: { code?: string; kind?: string } };
  // P2034: write conflict; P1008: SQLite lock wait timed out (busy, or a deferred transaction lost its upgrade).
  if (e?.code === "P2034" || e?.code === "P1008") return true;
  if (isUniqueViolation(err, "portSlot")) return true;
  const text = `${e?.message ?? ""} ${e?.cause?.code ?? ""} ${e?.cause?.kind ?? ""}`;
  return /database is locked|SQLITE_BUSY|SocketTimeout|could not serialize|deadlock detected/i.test(text);
}

export function isUniqueViolation(err: unknown, field: string): boolean {
  const e = err as { code?: string; meta?: Record<string, unknown>; message?: string };
  if (e?.code !== "P2002") return false;
  // Only the constraint's own fields count: the message also quotes the calling code.
  const fieldsLine = /Unique constraint failed on the (?:fields|constraint): (.*)$/m.exec(e.message ?? "")?.[1] ?? "";
  return (JSON.stringify(e.meta ?? {}) + fieldsLine).includes(field);
}

export async function withRetry<T>(fn: () => Promise<T>, attempts = 30): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isRetryable(err)) throw err;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * (i + 1)));
    }
  }
}
