import { createHash } from "node:crypto";
import { ConflictError, InputError } from "../../../errors.js";
import { canonicalJson } from "../../../render/index.js";
import { describeHolder, makeOwner } from "../../../store/lease-owner.js";
import { LEASE_POLICY, startHeartbeat } from "../leases/heartbeat.js";
import { isDeadLocalOwner } from "../leases/holder.js";
import type { Deps } from "../../ports.js";

const KEY_RE = /^[\x21-\x7e]{1,200}$/;

export interface KeyedCall<T, S> {
  key: string;
  operation: "provision" | "upgrade" | "destroy" | "rotate-token";
  customerId: string;
  /** What makes two calls "the same request"; secrets already replaced by fingerprints. */
  request: unknown;
  run: () => Promise<T>;
  /** What is kept of the outcome: never a secret. */
  keep: (result: T) => S;
  /** The reply to a repeated call, from what was kept. */
  replay: (kept: S) => Promise<T>;
  /**
   * On a retry of a call that never recorded its outcome (its process died after the work, before
   * the bookkeeping), `run` may refuse because the work is already done: this turns that refusal
   * into the outcome, or returns null to let the error stand.
   */
  recover?: (err: unknown) => Promise<T | null>;
}

/**
 * Runs an operation at most once per idempotency key. The same key with the same request gets
 * the first outcome back (through `replay`); a different request under the key is a conflict. A
 * failed first try, or one whose process crashed (its claim lapsed or its process is gone), is
 * run again, which resumes the half-done work. While the call runs, its claim is renewed.
 */
export async function onceByKey<T, S>(deps: Deps, call: KeyedCall<T, S>): Promise<T> {
  if (!KEY_RE.test(call.key)) throw new InputError("idempotencyKey: expected 1 to 200 printable ASCII characters without spaces");
  const repo = deps.store.idempotency;
  const owner = makeOwner(`key-${call.operation}`);
  const requestHash = createHash("sha256").update(canonicalJson({ operation: call.operation, customerId: call.customerId, request: call.request })).digest("hex");
  const ttl = () => new Date(deps.clock.now().getTime() + LEASE_POLICY.ttlMs);
  const { inserted, record } = await repo.begin({ key: call.key, operation: call.operation, requestHash, customerId: call.customerId, owner, ttlMs: LEASE_POLICY.ttlMs, now: deps.clock.now() });
  if (!inserted) {
    if (record.requestHash !== requestHash) {
      throw new ConflictError(
        `idempotency key ${call.key} was already used for a different request (${record.operation} of ${record.customerId})`,
        "send a new key with a new request; a key may only be repeated with exactly the same request",
      );
    }
    if (record.status === "done") return call.replay(JSON.parse(record.result ?? "null") as S);
    const abandoned = record.status === "failed" || record.until < deps.clock.now() || isDeadLocalOwner(record.owner);
    if (!abandoned) {
      throw new ConflictError(
        `the request with idempotency key ${call.key} is still running (${describeHolder({ leaseOwner: record.owner, leaseSince: record.createdAt, leaseUntil: record.until }, deps.clock.now())})`,
        "retry with the same key once it has finished; the retry then gets its outcome",
      );
    }
    if (!(await repo.takeover(call.key, { owner: record.owner, status: record.status }, owner, ttl()))) {
      throw new ConflictError(`the request with idempotency key ${call.key} was taken up by another caller just now`, "retry with the same key in a moment");
    }
  }
  const stop = startHeartbeat(deps.clock, (until) => repo.renew(call.key, owner, until));
  const run = inserted || !call.recover ? call.run : () => call.run().catch(async (err: unknown) => (await call.recover!(err)) ?? Promise.reject(err));
  try {
    const result = await run();
    await repo.finish(call.key, owner, "done", JSON.stringify(call.keep(result)));
    return result;
  } catch (err) {
    await repo.finish(call.key, owner, "failed", JSON.stringify({ error: err instanceof Error ? err.message : String(err) })).catch(() => false);
    throw err;
  } finally {
    stop();
  }
}
