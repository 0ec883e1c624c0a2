import type { Deps } from "./ports.js";

/** "expired" comes from the daily expiry prune (src/app/lifecycle/prune.ts), "backup-*" from the daemon's backup tick (src/app/backup/schedule.ts); both use the same sink. */
export type AlertKind = "quarantine" | "recovered" | "host-down" | "host-back" | "report" | "expired" | "backup-failed" | "backup-recovered";

/**
 * What a webhook receives, as JSON. It carries ids, host names and reasons only: never a token,
 * key or password (reasons come from the health policy and Docker state, not from .env).
 */
export interface Alert {
  kind: AlertKind;
  customerId: string | null;
  host: string | null;
  reason: string;
  /** ISO 8601. */
  at: string;
  /** Restarts tried before a quarantine; failed sweeps of a host; 0 otherwise. */
  attempts: number;
  /** Only on kind "report": the daily summary. */
  report?: unknown;
}

/** Where alerts go besides Event rows. `send` must neither block nor throw; delivery is its business. */
export interface AlertSink {
  send(alert: Alert): void;
}

export const noAlerts: AlertSink = { send: () => {} };

/** Records the alert as an Event, tells the progress sink, then hands it to the alert sink. */
export async function raiseAlert(deps: Deps, sink: AlertSink, alert: Alert): Promise<void> {
  const target = alert.customerId ?? alert.host ?? "fleet";
  await deps.store.events.record({ actor: deps.actor, action: `health.alert.${alert.kind}`, target, outcome: "ok", detail: alert.reason.slice(0, 500) });
  const at = Date.now();
  deps.onEvent({ type: "step-done", step: "alert", host: alert.host ?? undefined, customerId: alert.customerId ?? undefined, at, durationMs: 0, detail: `${alert.kind}: ${alert.reason}` });
  sink.send(alert);
}
