import type { Deps } from "../ports.js";

/** Records one audit Event: who did what to which target, and how it went. Never a secret in `detail`. */
export async function audit(deps: Deps, action: string, target: string, outcome: "ok" | "failed" | "refused", detail?: string) {
  await deps.store.events.record({ actor: deps.actor, action, target, outcome, detail });
}
