import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli, tempDbUrl } from "./cli.js";
import { addHosts, makeHealthy, makeUnhealthy, provisionFree, removeInstances, startedAt, webhookReceiver } from "./health-helpers.js";
import { describeSandbox, runSandbox, untilDockerHealthy } from "./sandbox.js";

// One instance serves every test in turn: a healthy check resets the policy's counters.
const RESTART = "hl-check";
const QUAR = RESTART;
const customers = [RESTART];

describeSandbox("clawfleet health check (real sshd + Docker)", () => {
  const env = { CLAWFLEET_DATABASE_URL: tempDbUrl("cf-health-") };
  const check = (args: string[] = [], extra: NodeJS.ProcessEnv = {}) => runCli(["health", "check", "--json", ...args], { ...env, ...extra });

  beforeAll(async () => {
    removeInstances(customers);
    await addHosts(env);
    await provisionFree(env, RESTART, "sbx-3");
    // Provision returns once /healthz answers; the first test also asserts Docker's own verdict.
    await untilDockerHealthy(`cf-${RESTART}`);
  });
  afterAll(() => removeInstances(customers));

  it("reports every host reachable and every instance healthy, exit 0", async () => {
    const r = await check();
    expect(r.code, r.stderr).toBe(0);
    const rep = r.json();
    expect(rep.hosts.map((h: { name: string; reachable: boolean }) => [h.name, h.reachable])).toEqual([["sbx-1", true], ["sbx-2", true], ["sbx-3", true]]);
    expect(rep.instances.map((i: { customerId: string; status: string }) => [i.customerId, i.status])).toEqual([[RESTART, "healthy"]]);
    expect(rep.instances[0].latencyMs).toBeGreaterThanOrEqual(0);
    expect(rep.instances[0].container).toMatchObject({ state: "running", dockerHealth: "healthy" });
  });

  it("restarts an instance whose /healthz fails after exactly failureThreshold failed sweeps, and it is healthy again", async () => {
    makeUnhealthy(RESTART);
    const before = startedAt(RESTART);
    const actions: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await check(["--customer-id", RESTART, "--failure-threshold", "3"]);
      expect(r.code).toBe(1);
      const inst = r.json().instances[0];
      expect(inst).toMatchObject({ status: "unhealthy", reason: expect.stringMatching(/\/healthz returned 500/) });
      actions.push(inst.action);
    }
    expect(actions).toEqual(["none", "none", "restarted"]);
    expect(startedAt(RESTART)).not.toBe(before);
    const after = await check(["--customer-id", RESTART]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.json().instances[0]).toMatchObject({ status: "healthy", action: "recovered", instanceStatus: "healthy" });

    const h = await runCli(["health", "history", RESTART, "--json"], env);
    expect(h.code, h.stderr).toBe(0);
    const hist = h.json();
    expect(hist.checks.map((c: { status: string }) => c.status).slice(0, 4)).toEqual(["healthy", "unhealthy", "unhealthy", "unhealthy"]);
    expect(hist.checks[1].detail).toMatch(/returned 500/);
    const human = await runCli(["health", "history", RESTART], env);
    expect(human.stdout).toContain("unhealthy");
  });

  it("quarantines an instance that always fails, with exactly one webhook alert", async () => {
    const hook = await webhookReceiver();
    try {
      makeUnhealthy(QUAR, true);
      const args = ["--customer-id", QUAR, "--failure-threshold", "1", "--max-restarts", "1", "--backoff-initial", "1s", "--webhook", hook.url];
      const statuses: string[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await check(args);
        expect(r.code).toBe(1);
        const inst = r.json().instances[0];
        statuses.push(`${inst.action}:${inst.instanceStatus}`);
        await new Promise((res) => setTimeout(res, 1100)); // past the 1 s backoff
      }
      expect(statuses).toEqual(["restarted:unhealthy", "quarantined:quarantined", "none:quarantined", "none:quarantined"]);
      expect(hook.received).toHaveLength(1);
      expect(hook.received[0]).toMatchObject({ kind: "quarantine", customerId: QUAR, host: "sbx-3", attempts: 1 });
      expect(Object.keys(hook.received[0]!).sort()).toEqual(["at", "attempts", "customerId", "host", "kind", "reason"]);
      expect(JSON.stringify(hook.received)).not.toMatch(/[0-9a-f]{64}/); // no token, no hash
      makeHealthy(QUAR);
      const back = await check(args);
      expect(back.code, back.stderr).toBe(0);
      expect(hook.received.map((a) => a.kind)).toEqual(["quarantine", "recovered"]);
    } finally {
      await hook.close();
    }
  });

  it("an unreachable host gives one host alert and zero restarts, then a recovery alert", async () => {
    const hook = await webhookReceiver();
    const before = startedAt(RESTART);
    try {
      expect((await runSandbox(["stop", "3"])).code).toBe(0);
      makeUnhealthy(RESTART); // would be restarted at once, were the host reachable
      for (let i = 0; i < 3; i++) {
        const r = await check(["--failure-threshold", "1", "--webhook", hook.url]);
        expect(r.code).toBe(1);
        const rep = r.json();
        expect(rep.hosts.find((h: { name: string }) => h.name === "sbx-3")).toMatchObject({ reachable: false });
        expect(rep.instances.find((i: { customerId: string }) => i.customerId === RESTART)).toMatchObject({ status: "unknown", action: "none" });
      }
      expect(hook.received.map((a) => [a.kind, a.host])).toEqual([["host-down", "sbx-3"]]);
      makeHealthy(RESTART);
    } finally {
      expect((await runSandbox(["start", "3"])).code).toBe(0);
    }
    try {
      const r = await check(["--webhook", hook.url]);
      expect(r.code, r.stderr).toBe(0);
      expect(hook.received.map((a) => [a.kind, a.host])).toEqual([["host-down", "sbx-3"], ["host-back", "sbx-3"]]);
      expect(startedAt(RESTART)).toBe(before);
    } finally {
      await hook.close();
    }
  });
});
