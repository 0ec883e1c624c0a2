/** The daemon's alert sink: the webhook (its failures recorded as Events), plus the caller's own sink. */
import { noAlerts, type AlertKind, type AlertSink } from "../../app/alerts.js";
import type { Deps } from "../../app/ports.js";
import { parseWebhookUrl, redactWebhook, webhookSink, type WebhookOptions } from "./webhook.js";

export interface AlertOptions {
  /** Alert webhook; default CLAWFLEET_ALERT_WEBHOOK. */
  webhook?: string;
  /** Retry settings of the webhook. */
  webhookOptions?: Omit<WebhookOptions, "onResult">;
  /** A sink of your own instead of (or with no) webhook. */
  alerts?: AlertSink;
}

export type DrainableSink = AlertSink & { drain(ms: number): Promise<number>; close(): void };

/** The webhook (with failures recorded as Events) plus the caller's own sink, if any. */
export function alertSink(deps: Deps, opts: AlertOptions, count: (kind: AlertKind, result: "sent" | "failed" | "recorded") => void = () => {}): DrainableSink {
  const raw = opts.webhook ?? deps.env.CLAWFLEET_ALERT_WEBHOOK;
  const own = opts.alerts ?? noAlerts;
  if (!raw) return { send: (a) => (count(a.kind, "recorded"), own.send(a)), drain: async () => 0, close: () => {} };
  const url = parseWebhookUrl(raw);
  const hook = webhookSink(url, {
    ...opts.webhookOptions,
    onResult(r) {
      count(r.alert.kind, r.ok ? "sent" : "failed");
      if (r.ok) return;
      const detail = `${r.alert.kind} for ${r.alert.customerId ?? r.alert.host ?? "fleet"} to ${redactWebhook(url)} failed after ${r.attempts} attempt(s): ${r.error}`;
      deps.onEvent({ type: "warn", message: `alert delivery: ${detail}`, at: Date.now() });
      void deps.store.events.record({ actor: deps.actor, action: "health.alert.delivery", target: r.alert.customerId ?? r.alert.host ?? "fleet", outcome: "failed", detail }).catch(() => {});
    },
  });
  return { send: (a) => (hook.send(a), own.send(a)), drain: (ms) => hook.drain(ms), close: () => hook.close() };
}
