/** Resolves after `ms`, or at once when the signal aborts; keeps the process alive only with `keepAlive`. */
export function sleep(ms: number, signal?: AbortSignal, keepAlive = false): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (!keepAlive) timer.unref?.();
    signal?.addEventListener("abort", done, { once: true });
  });
}
