import type { Alert } from "../../app/alerts.js";
import { parseWebhookUrl, webhookSink } from "./webhook.js";

/** A webhook whose every announcement waits for its own delivery (with retries), as `prune` needs. */
export function announcingWebhook(raw: string): { announce: (alert: Alert) => Promise<void>; close: () => void } {
  const outcomes = new Map<object, (ok: boolean) => void>();
  const sink = webhookSink(parseWebhookUrl(raw), { maxAttempts: 3, onResult: (r) => outcomes.get(r.alert)?.(r.ok) });
  return {
    announce: (alert) =>
      new Promise<void>((resolve, reject) => {
        outcomes.set(alert, (ok) => (ok ? resolve() : reject(new Error("webhook delivery failed"))));
        sink.send(alert);
      }),
    close: () => sink.close(),
  };
}
