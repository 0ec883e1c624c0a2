import type { Deps } from "../ports.js";
import { sleep } from "../sleep.js";
import { filterOf, view, type AuditEvent, type EventQuery } from "./list.js";

/**
 * The audit log as it grows: first the newest `limit` rows, oldest first, then each new row as it
 * is recorded (polled every `intervalMs`), until the signal aborts. Rows with the same timestamp
 * are told apart by id, so none is shown twice or skipped.
 */
export async function* followEvents(deps: Deps, q: EventQuery, opts: { signal?: AbortSignal; intervalMs?: number } = {}): AsyncGenerator<AuditEvent> {
  const filter = await filterOf(deps, q);
  const first = (await deps.store.events.list(filter)).reverse();
  let last = first.at(-1)?.at ?? q.since ?? deps.clock.now();
  // Every row already there at `last` counts as seen, shown or not (older rows can share its millisecond).
  let seen = new Set((await deps.store.events.list({ ...filter, since: last, limit: 1000 })).filter((e) => e.at.getTime() === last.getTime()).map((e) => e.id));
  for (const e of first) yield view(e);
  while (!opts.signal?.aborted) {
    // A follower waits on nothing else: its own timer keeps the process alive.
    await sleep(opts.intervalMs ?? 1000, opts.signal, true);
    if (opts.signal?.aborted) break;
    const fresh = (await deps.store.events.list({ ...filter, since: last, limit: 1000 })).reverse().filter((e) => !seen.has(e.id));
    for (const e of fresh) {
      if (e.at.getTime() !== last.getTime()) (last = e.at), (seen = new Set());
      seen.add(e.id);
      yield view(e);
    }
  }
}
