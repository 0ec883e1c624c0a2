import type { HostSweepState } from "../../store/coordination-types.js";

/**
 * Claim order: the hosts this sweeper swept last time first, so each daemon keeps roughly the same
 * share and its pooled connections stay warm; then the longest unswept.
 */
export function orderForClaims(states: HostSweepState[], owner: string): HostSweepState[] {
  const t = (s: HostSweepState) => s.sweptAt?.getTime() ?? -Infinity;
  return [...states].sort((a, b) => Number(b.sweptBy === owner) - Number(a.sweptBy === owner) || t(a) - t(b) || a.hostId.localeCompare(b.hostId));
}

/** Resolves after `ms`, or at once when the signal aborts; never keeps the process alive. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref?.();
    signal?.addEventListener("abort", done, { once: true });
  });
}
