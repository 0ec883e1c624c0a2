import { describe, expect, it } from "vitest";
import { backoffMs, decide, HEALTHY_STATE, type Observation, type PolicyConfig, type PolicyState } from "../../../src/domain/health-policy.js";
import { manualClock } from "../../fakes/recording-shell.js";

const cfg: PolicyConfig = { failureThreshold: 3, maxRestarts: 3, restartWindowMs: 3_600_000, backoffInitialMs: 60_000, backoffMaxMs: 1_800_000 };
const fail: Observation = { kind: "unhealthy", reason: "/healthz returned 500" };
const ok: Observation = { kind: "healthy" };
const S = 1000;

/** Feeds one observation per `everyMs` and logs the actions with their time in seconds. */
function run(obs: (i: number) => Observation, sweeps: number, everyMs: number, c = cfg, start: PolicyState = HEALTHY_STATE) {
  const clock = manualClock();
  const t0 = clock.now().getTime();
  let state = start;
  const actions: string[] = [];
  for (let i = 0; i < sweeps; i++) {
    const d = decide(state, obs(i), clock.now(), c);
    state = d.state;
    if (d.action.type !== "none") actions.push(`${(clock.now().getTime() - t0) / S}s ${d.action.type}`);
    clock.advance(everyMs);
  }
  return { state, actions };
}

describe("health policy", () => {
  it("leaves a healthy instance alone", () => {
    expect(run(() => ok, 10, 30 * S)).toEqual({ state: HEALTHY_STATE, actions: [] });
  });

  it("counts failures and restarts at exactly failureThreshold, then starts counting again", () => {
    const clock = manualClock();
    let s = HEALTHY_STATE;
    const seen = [1, 2, 3].map(() => {
      const d = decide(s, fail, clock.now(), cfg);
      s = d.state;
      return [d.action.type, s.consecutiveFailures, s.status];
    });
    expect(seen).toEqual([["none", 1, "unhealthy"], ["none", 2, "unhealthy"], ["restart", 0, "unhealthy"]]);
    expect(s).toMatchObject({ restartCount: 1, lastRestartAt: clock.now(), restartWindowAt: clock.now() });
  });

  it("backs off 1m, 2m, 4m between restarts and quarantines after maxRestarts within the window, alerting once", () => {
    const { state, actions } = run(() => fail, 40, 30 * S);
    // restarts at 60 s, then 1 m later, then 2 m later; the 4th would be due 4 m after that: quarantine.
    expect(actions).toEqual(["60s restart", "150s restart", "270s restart", "510s quarantine"]);
    expect(state.status).toBe("quarantined");
    expect(state.quarantinedAt?.toISOString()).toBe(new Date(Date.parse("2026-11-24T00:00:00Z") + 510 * S).toISOString());
  });

  it("doubles the backoff up to backoffMax", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => backoffMs(n, cfg) / 60_000)).toEqual([1, 2, 4, 8, 16, 30, 30, 30]);
    expect(backoffMs(0, cfg)).toBe(0);
  });

  it("stays quarantined without restarts until a healthy check resets everything, and reports the recovery", () => {
    const q = run(() => fail, 40, 30 * S).state;
    const still = decide(q, fail, new Date("2026-11-25T00:00:00Z"), cfg);
    expect(still).toEqual({ state: q, action: { type: "none", note: "quarantined" } });
    const back = decide(q, ok, new Date("2026-11-25T00:00:00Z"), cfg);
    expect(back.action).toEqual({ type: "recovered", from: "quarantined" });
    expect(back.state).toMatchObject({ status: "healthy", consecutiveFailures: 0, restartCount: 0, restartWindowAt: null, quarantinedAt: null });
  });

  it("resets failures and backoff when the instance is healthy again", () => {
    const { state, actions } = run((i) => (i === 3 ? ok : fail), 6, 30 * S);
    expect(actions).toEqual(["60s restart", "90s recovered"]);
    expect(state).toMatchObject({ status: "unhealthy", consecutiveFailures: 2, restartCount: 0 });
  });

  it("treats unknown (host unreachable) as no evidence: nothing changes, nothing restarts", () => {
    const failing = run(() => fail, 2, 30 * S).state;
    const { state, actions } = run(() => ({ kind: "unknown", reason: "host unreachable" }), 50, 30 * S, cfg, failing);
    expect(actions).toEqual([]);
    expect(state).toEqual(failing);
  });

  it("opens a new restart window once the old one has passed", () => {
    const c = { ...cfg, maxRestarts: 1, restartWindowMs: 10 * 60_000, failureThreshold: 1, backoffInitialMs: 1000 };
    // Failing every 6 minutes: the second restart is due inside the 10-minute window (quarantine)…
    expect(run(() => fail, 3, 6 * 60_000, c).actions).toEqual(["0s restart", "360s quarantine"]);
    // …but every 11 minutes each restart opens a fresh window.
    expect(run(() => fail, 3, 11 * 60_000, c).actions).toEqual(["0s restart", "660s restart", "1320s restart"]);
  });

  it("honours thresholds from configuration", () => {
    const c = { ...cfg, failureThreshold: 1, maxRestarts: 1, backoffInitialMs: 10 * S };
    expect(run(() => fail, 4, 10 * S, c).actions).toEqual(["0s restart", "10s quarantine"]);
  });
});
