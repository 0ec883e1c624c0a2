import type { Clock } from "../../ports.js";

/** Every operation lease: short, and renewed while the work runs, so a crashed holder's claim lapses soon. */
export const LEASE_POLICY = { ttlMs: 30_000, renewEveryMs: 10_000 } as const;

export interface HeartbeatOptions {
  ttlMs?: number;
  renewEveryMs?: number;
  /** Called once when a renewal finds the claim gone (taken over after it lapsed, or unlocked). */
  onLost?: () => void;
}

/**
 * Renews a claim every `renewEveryMs` to `now + ttlMs` until stopped. `renew` returns false when the
 * claim is no longer ours; a failed renewal (the DB briefly away) is retried on the next beat. The
 * timer never keeps the process alive on its own.
 */
export function startHeartbeat(clock: Clock, renew: (until: Date) => Promise<boolean>, opts: HeartbeatOptions = {}): () => void {
  const ttlMs = opts.ttlMs ?? LEASE_POLICY.ttlMs;
  const every = opts.renewEveryMs ?? LEASE_POLICY.renewEveryMs;
  let stopped = false;
  let lost = false;
  let timer: NodeJS.Timeout | undefined;
  const beat = () => {
    timer = setTimeout(() => {
      renew(new Date(clock.now().getTime() + ttlMs)).then(
        (ok) => {
          if (stopped) return;
          if (!ok && !lost) {
            lost = true;
            opts.onLost?.();
            return;
          }
          beat();
        },
        () => stopped || beat(),
      );
    }, every);
    timer.unref?.();
  };
  beat();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
