/**
 * The auto-restart policy as a pure state machine: no clock, no I/O. The caller passes `now`.
 *
 *   healthy ──fail──▶ failing(n) ──n = failureThreshold──▶ restart ──▶ cooldown (1m, 2m, 4m … max)
 *      ▲                                                      │
 *      └──────────────── any healthy check ◀──────────────────┘
 *   a restart due after maxRestarts within restartWindow ──▶ quarantined (no restarts, one alert)
 *
 * The restart window works like systemd's StartLimitIntervalSec/Burst: it opens at the first restart
 * and closes restartWindow later; a restart after that opens a new one.
 */

/** What one sweep saw for an instance. "unknown" means the host could not be asked (never a failure). */
export type Observation =
  | { kind: "healthy" }
  | { kind: "unhealthy"; reason: string }
  | { kind: "unknown"; reason: string };

/** The policy's view of an instance: the health columns of its row. */
export interface PolicyState {
  status: "healthy" | "unhealthy" | "quarantined";
  consecutiveFailures: number;
  /** Restarts within the current window. */
  restartCount: number;
  restartWindowAt: Date | null;
  lastRestartAt: Date | null;
  quarantinedAt: Date | null;
}

export interface PolicyConfig {
  failureThreshold: number;
  maxRestarts: number;
  restartWindowMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
}

export type PolicyAction =
  | { type: "none"; note?: string }
  | { type: "restart"; attempt: number; reason: string }
  | { type: "quarantine"; attempts: number; reason: string }
  | { type: "recovered"; from: "unhealthy" | "quarantined" };

export interface PolicyDecision {
  state: PolicyState;
  action: PolicyAction;
}

export const HEALTHY_STATE: PolicyState = Object.freeze({
  status: "healthy",
  consecutiveFailures: 0,
  restartCount: 0,
  restartWindowAt: null,
  lastRestartAt: null,
  quarantinedAt: null,
}) as PolicyState;

/** The cooldown after the `restarts`-th restart of a window: initial, doubling, capped at max. */
export function backoffMs(restarts: number, cfg: Pick<PolicyConfig, "backoffInitialMs" | "backoffMaxMs">): number {
  if (restarts <= 0) return 0;
  const doubled = cfg.backoffInitialMs * 2 ** Math.min(restarts - 1, 40);
  return Math.min(doubled, cfg.backoffMaxMs);
}

/** When the current cooldown ends, or null when there is none. */
export function cooldownUntil(state: PolicyState, cfg: PolicyConfig): Date | null {
  if (state.restartCount === 0 || !state.lastRestartAt) return null;
  return new Date(state.lastRestartAt.getTime() + backoffMs(state.restartCount, cfg));
}

/** One step of the policy: the state after `obs` at `now`, and what to do about it. */
export function decide(state: PolicyState, obs: Observation, now: Date, cfg: PolicyConfig): PolicyDecision {
  switch (obs.kind) {
    case "unknown":
      return { state, action: { type: "none", note: obs.reason } };
    case "healthy":
      return onHealthy(state);
    case "unhealthy":
      return onUnhealthy(state, obs.reason, now, cfg);
  }
}

function onHealthy(state: PolicyState): PolicyDecision {
  // Returning to healthy resets everything, quarantine included; lastRestartAt stays as a fact.
  const next: PolicyState = { ...HEALTHY_STATE, lastRestartAt: state.lastRestartAt };
  if (state.status === "healthy" && state.consecutiveFailures === 0 && state.restartCount === 0) return { state: next, action: { type: "none" } };
  return { state: next, action: state.status === "quarantined" ? { type: "recovered", from: "quarantined" } : { type: "recovered", from: "unhealthy" } };
}

function onUnhealthy(state: PolicyState, reason: string, now: Date, cfg: PolicyConfig): PolicyDecision {
  // Quarantine is final until the instance is healthy again (or an operator steps in).
  if (state.status === "quarantined") return { state, action: { type: "none", note: "quarantined" } };
  const failures = state.consecutiveFailures + 1;
  const failing: PolicyState = { ...state, status: "unhealthy", consecutiveFailures: failures };
  if (failures < cfg.failureThreshold) {
    return { state: failing, action: { type: "none", note: `failure ${failures}/${cfg.failureThreshold}` } };
  }
  const until = cooldownUntil(state, cfg);
  if (until && now < until) {
    return { state: failing, action: { type: "none", note: `cooling down until ${until.toISOString()}` } };
  }
  const windowOpen = state.restartWindowAt !== null && now.getTime() - state.restartWindowAt.getTime() < cfg.restartWindowMs;
  const inWindow = windowOpen ? state.restartCount : 0;
  if (inWindow >= cfg.maxRestarts) {
    return {
      state: { ...failing, status: "quarantined", quarantinedAt: now },
      action: { type: "quarantine", attempts: inWindow, reason: `${reason}; still failing after ${inWindow} restart(s) within ${formatMs(cfg.restartWindowMs)}` },
    };
  }
  const attempt = inWindow + 1;
  return {
    state: {
      ...failing,
      consecutiveFailures: 0,
      restartCount: attempt,
      restartWindowAt: windowOpen ? state.restartWindowAt : now,
      lastRestartAt: now,
    },
    action: { type: "restart", attempt, reason },
  };
}

/** Compact duration for messages: 90000 → "1m30s". */
export function formatMs(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}ms`);
  return parts.join("");
}
