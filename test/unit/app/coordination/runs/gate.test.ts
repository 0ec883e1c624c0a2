import { spawnSync } from "node:child_process";
import os from "node:os";
import { describe, expect, it } from "vitest";
import type { FleetEvent } from "../../../../../src/app/events.js";
import type { Deps } from "../../../../../src/app/ports.js";
import { RunGate } from "../../../../../src/app/coordination/runs/gate.js";
import { memoryStore } from "../../../../fakes/memory-store.js";
import { fakeConnector, RecordingShell } from "../../../../fakes/recording-shell.js";

async function setup() {
  const store = memoryStore();
  const events: FleetEvent[] = [];
  const deps: Deps = { store, connector: fakeConnector(new RecordingShell("x")), clock: { now: () => new Date() }, onEvent: (e) => events.push(e), actor: "test", env: {} };
  const mk = (name: string) => store.hosts.create({ name, address: "10.0.0.1", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:k", remoteRoot: "/srv", shared: true, capacityMb: null, dockerOk: true });
  return { store, deps, events, h1: await mk("h1"), h2: await mk("h2") };
}

/** A task that records how many run at once per host. */
function meter() {
  const now = new Map<string, number>();
  const peak = new Map<string, number>();
  let overall = 0;
  let overallPeak = 0;
  const task = (host: string, ms = 15) => async () => {
    now.set(host, (now.get(host) ?? 0) + 1);
    overall++;
    peak.set(host, Math.max(peak.get(host) ?? 0, now.get(host)!));
    overallPeak = Math.max(overallPeak, overall);
    await new Promise((r) => setTimeout(r, ms));
    now.set(host, now.get(host)! - 1);
    overall--;
  };
  return { task, peak, overallPeak: () => overallPeak };
}

describe("RunGate", () => {
  it("bounds runs per host and overall, and says where each waiting call stands", async () => {
    const t = await setup();
    const gate = new RunGate({ perHost: 2, overall: 3 });
    const m = meter();
    await Promise.all([...Array(6)].flatMap((_, i) => [gate.run(t.deps, t.h1, `a${i}`, "provision", m.task("h1")), gate.run(t.deps, t.h2, `b${i}`, "provision", m.task("h2"))]));
    expect(m.peak.get("h1")).toBe(2);
    expect(m.peak.get("h2")).toBe(2);
    expect(m.overallPeak()).toBe(3);
    const queued = t.events.filter((e): e is Extract<FleetEvent, { type: "queued" }> => e.type === "queued");
    expect(queued.filter((e) => e.waitingFor === "host" && e.host === "h1").map((e) => e.position)).toEqual([1, 2, 3, 4]);
    expect(queued.some((e) => e.waitingFor === "overall")).toBe(true);
    expect(await t.store.runSlots.holders(t.h1.id, new Date())).toEqual([]);
  });

  it("the per-host bound holds across processes sharing the DB, and a failing run frees its slot", async () => {
    const t = await setup();
    const m = meter();
    const gates = [new RunGate({ perHost: 3, overall: 10 }), new RunGate({ perHost: 3, overall: 10 })];
    const calls = [...Array(8)].map((_, i) => gates[i % 2]!.run(t.deps, t.h1, `c${i}`, "provision", m.task("h1", 30)));
    calls.push(gates[0]!.run(t.deps, t.h1, "bad", "provision", async () => Promise.reject(new Error("boom"))).catch(() => undefined));
    await Promise.all(calls);
    expect(m.peak.get("h1")).toBe(3);
    expect(t.events.some((e) => e.type === "queued" && e.waitingFor === "other-processes")).toBe(true);
    expect(await t.store.runSlots.holders(t.h1.id, new Date())).toEqual([]);
  });

  it("a slot held by a dead process on this machine is taken at once", async () => {
    const t = await setup();
    const gone = spawnSync(process.execPath, ["-e", "0"]).pid!;
    for (let i = 0; i < 3; i++) {
      await t.store.runSlots.tryAcquire({ hostId: t.h1.id, limit: 3, owner: `${os.hostname()}:${gone}:run:${i}`, ttlMs: 60_000, now: new Date() });
    }
    const started = Date.now();
    let ran = false;
    await new RunGate({ perHost: 3, overall: 3 }).run(t.deps, t.h1, "d", "provision", async () => void (ran = true));
    expect(ran).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("refuses a bound below 1", () => {
    expect(() => new RunGate({ perHost: 0, overall: 1 })).toThrow(/perHost/);
  });
});
