import { InputError } from "../../errors.js";
import type { Alert, AlertSink } from "../../app/alerts.js";

export interface DeliveryResult {
  alert: Alert;
  ok: boolean;
  attempts: number;
  error?: string;
}

export interface WebhookOptions {
  /** Tries per alert, the first included. Default 5. */
  maxAttempts?: number;
  /** Wait before the second try; doubles each time. Default 1 s. */
  retryInitialMs?: number;
  /** Cap of that wait. Default 30 s. */
  retryMaxMs?: number;
  /** Per request. Default 10 s. */
  timeoutMs?: number;
  fetch?: typeof globalThis.fetch;
  /** Called once per alert when delivery succeeded or was given up. */
  onResult?: (r: DeliveryResult) => void;
}

export interface WebhookSink extends AlertSink {
  /** Waits until queued deliveries finish, or `timeoutMs` passes; returns how many are still pending. */
  drain(timeoutMs: number): Promise<number>;
  /** Stops retrying: pending deliveries end at their next wait. */
  close(): void;
}

/** Checks a webhook URL once, at the edge. Only http(s). */
export function parseWebhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InputError("--webhook: expected an http(s) URL", "for example https://hooks.example.com/clawfleet");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new InputError(`--webhook: expected an http(s) URL, got ${url.protocol}`);
  return url;
}

/** The URL without credentials, path or query (which may hold a token), for messages. */
export function redactWebhook(url: URL): string {
  return `${url.protocol}//${url.host}/…`;
}

/**
 * POSTs each alert as JSON, in the background, retrying a failure (network error, timeout, 5xx,
 * 429) with exponential backoff. A 4xx other than 408/429 is final: retrying cannot fix it.
 */
export function webhookSink(url: URL, opts: WebhookOptions = {}): WebhookSink {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const maxAttempts = opts.maxAttempts ?? 5;
  const pending = new Set<Promise<void>>();
  const stop = new AbortController();

  async function deliver(alert: Alert): Promise<void> {
    const body = JSON.stringify(alert);
    let error = "";
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const outcome = await post(doFetch, url, body, attempt, opts.timeoutMs ?? 10_000, stop.signal);
      if (outcome === "ok") return opts.onResult?.({ alert, ok: true, attempts: attempt });
      error = outcome.error;
      if (!outcome.retry || attempt === maxAttempts || stop.signal.aborted) break;
      const wait = Math.min((opts.retryInitialMs ?? 1000) * 2 ** (attempt - 1), opts.retryMaxMs ?? 30_000);
      if (!(await sleep(wait, stop.signal))) break;
    }
    opts.onResult?.({ alert, ok: false, attempts: maxAttempts, error });
  }

  return {
    send(alert) {
      const p = deliver(alert).catch(() => {});
      pending.add(p);
      void p.finally(() => pending.delete(p));
    },
    async drain(timeoutMs) {
      const timer = new Promise<void>((r) => setTimeout(r, timeoutMs).unref());
      await Promise.race([Promise.all([...pending]), timer]);
      return pending.size;
    },
    close: () => stop.abort(),
  };
}

type PostOutcome = "ok" | { retry: boolean; error: string };

async function post(doFetch: typeof fetch, url: URL, body: string, attempt: number, timeoutMs: number, stop: AbortSignal): Promise<PostOutcome> {
  try {
    const res = await doFetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "clawfleet-health", "x-clawfleet-delivery-attempt": String(attempt) },
      body,
      signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]),
      redirect: "error",
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.ok) return "ok";
    return { retry: res.status >= 500 || res.status === 408 || res.status === 429, error: `HTTP ${res.status}` };
  } catch (err) {
    const e = err as { name?: string; cause?: { code?: string }; message?: string };
    return { retry: true, error: e.name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : (e.cause?.code ?? e.message ?? String(err)) };
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const t = setTimeout(() => resolve(true), ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve(false)), { once: true });
  });
}
