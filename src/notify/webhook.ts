/**
 * A minimal JSON webhook POST for expiry announcements (`CLAWFLEET_ALERT_WEBHOOK`): a few tries with
 * backoff, then give up. The health alert sink (issue 5) may replace it.
 */
export function webhookPoster(url: string, opts: { tries?: number; timeoutMs?: number; fetchFn?: typeof fetch } = {}) {
  const tries = opts.tries ?? 3;
  const fetchFn = opts.fetchFn ?? fetch;
  return async (payload: unknown): Promise<void> => {
    let last: unknown;
    for (let i = 0; i < tries; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 250 * 2 ** i));
      try {
        const res = await fetchFn(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(payload),
          signal: AbortSignal.timeout(opts.timeoutMs ?? 5_000),
        });
        if (res.ok) return;
        last = new Error(`webhook answered ${res.status}`);
      } catch (err) {
        last = err;
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  };
}
