import { spawnSync } from "node:child_process";
import os from "node:os";
import { beforeEach, describe, expect, it } from "vitest";
import { sweepRound, type RoundPlan } from "../../../../../src/app/health/host-leases/round.js";
import type { Deps } from "../../../../../src/app/ports.js";
import type { HostRecord } from "../../../../../src/store/types.js";
import { memoryStore } from "../../../../fakes/memory-store.js";
import { manualClock } from "../../../../fakes/recording-shell.js";
import { hostInput } from "../../../store/store-kinds.js";

type Result = { host: string; owner: string; ok: boolean };

describe("a sweep round over host leases", () => {
  let store: ReturnType<typeof memoryStore>;
  let clock: ReturnType<typeof manualClock>;
  let deps: Deps;
  let hosts: HostRecord[];
  const periodAt = () => clock.now();

  beforeEach(async () => {
    store = memoryStore();
    clock = manualClock();
    deps = { store, clock, connector: null as never, onEvent: () => {}, actor: "test", env: {} };
    hosts = [];
    for (let i = 0; i < 20; i++) hosts.push(await store.hosts.create(hostInput(`h-${String(i).padStart(2, "0")}`)));
  });

  const plan = (owner: string, extra: Partial<RoundPlan> = {}): RoundPlan => ({
    owner, hosts, periodAt: periodAt(), dueBefore: new Date(clock.now().getTime() - 5_000), deadline: new Date(clock.now().getTime() + 60_000),
    record: true, concurrency: 4, batch: 3, ...extra,
  });
  /** Work that sweeps a host in a few ms, noting who sweeps what and any overlap. */
  const work = (owner: string, log: { started: string[]; active: Set<string>; overlaps: string[]; swept: Result[]; flushes: number[] }, ok = () => true) => ({
    start: (batch: HostRecord[]) =>
      batch.map(async (h) => {
        if (log.active.has(h.name)) log.overlaps.push(h.name);
        log.active.add(h.name);
        log.started.push(h.name);
        await new Promise((r) => setTimeout(r, 2 + Math.random() * 8));
        log.active.delete(h.name);
        const r = { host: h.name, owner, ok: ok() };
        log.swept.push(r);
        return r;
      }),
    flush: async (rs: Result[]) => void log.flushes.push(rs.length),
    complete: (r: Result) => r.ok,
  });
  const newLog = () => ({ started: [] as string[], active: new Set<string>(), overlaps: [] as string[], swept: [] as Result[], flushes: [] as number[] });

  it("shares the hosts between two sweepers: each swept once, never by both at once, in bounded batches", async () => {
    const log = newLog();
    const [a, b] = await Promise.all([sweepRound(deps, plan("A"), work("A", log)), sweepRound(deps, plan("B"), work("B", log))]);
    expect(log.overlaps).toEqual([]);
    expect(log.swept.map((r) => r.host).sort()).toEqual(hosts.map((h) => h.name));
    expect(a.results.length + b.results.length).toBe(20);
    expect(a.results.length).toBeGreaterThan(0);
    expect(b.results.length).toBeGreaterThan(0);
    expect(Math.max(...log.flushes)).toBeLessThanOrEqual(3);
    const states = await store.sweeps.states();
    expect(states.every((s) => s.owner === null && s.sweptAt?.getTime() === clock.now().getTime())).toBe(true);
    // The same period again: nothing is due, so nothing is swept; both count the hosts as done elsewhere.
    const again = await sweepRound(deps, plan("C"), work("C", newLog()));
    expect(again).toMatchObject({ results: [], elsewhere: 20, missed: [] });
  });

  it("prefers the hosts it swept last time, so each daemon keeps its connections", async () => {
    for (const [i, h] of hosts.entries()) store.sweepRows.set(h.id, { hostId: h.id, owner: null, until: null, sweptAt: new Date(0), sweptBy: i < 10 ? "A" : "B" });
    const log = newLog();
    const r = await sweepRound(deps, plan("A", { concurrency: 3, batch: 3 }), work("A", log));
    expect(r.results.length).toBe(20);
    expect(log.started.slice(0, 10).sort()).toEqual(hosts.slice(0, 10).map((h) => h.name));
  });

  it("takes over at once from a dead local process, and from a live foreign one when its lease lapses", async () => {
    const deadPid = spawnSync("true").pid!;
    const dead = `${os.hostname()}:${deadPid}:x1`;
    const foreign = "elsewhere:4242:x2";
    store.sweepRows.set(hosts[0]!.id, { hostId: hosts[0]!.id, owner: dead, until: new Date(clock.now().getTime() + 30_000), sweptAt: null, sweptBy: null });
    store.sweepRows.set(hosts[1]!.id, { hostId: hosts[1]!.id, owner: foreign, until: new Date(clock.now().getTime() + 1_000), sweptAt: null, sweptBy: null });
    const log = newLog();
    setTimeout(() => clock.advance(2_000), 100);
    const r = await sweepRound(deps, plan("A"), work("A", log));
    expect(r.results.map((x) => x.host).sort()).toEqual(hosts.map((h) => h.name));
    expect(r.missed).toEqual([]);
  });

  it("gives up hosts a live holder keeps past the deadline, as missed", async () => {
    store.sweepRows.set(hosts[3]!.id, { hostId: hosts[3]!.id, owner: "elsewhere:4242:x3", until: new Date(clock.now().getTime() + 30_000), sweptAt: null, sweptBy: null });
    setTimeout(() => clock.advance(1_000), 50);
    const r = await sweepRound(deps, plan("A", { deadline: new Date(clock.now().getTime() + 100) }), work("A", newLog()));
    expect(r.results.length).toBe(19);
    expect(r.missed.map((h) => h.name)).toEqual([hosts[3]!.name]);
    expect((await store.sweeps.states([hosts[3]!.id]))[0]!.owner).toBe("elsewhere:4242:x3");
  });

  it("releases without recording: an observe-only round, and hosts whose probe was abandoned", async () => {
    const r1 = await sweepRound(deps, plan("A", { record: false }), work("A", newLog()));
    expect(r1.results.length).toBe(20);
    expect((await store.sweeps.states()).every((s) => s.owner === null && s.sweptAt === null)).toBe(true);
    let n = 0;
    const r2 = await sweepRound(deps, plan("A"), work("A", newLog(), () => n++ % 2 === 0));
    expect(r2.results.length).toBe(20);
    const states = await store.sweeps.states();
    expect(states.filter((s) => s.sweptAt !== null).length).toBe(10);
    expect(states.every((s) => s.owner === null)).toBe(true);
  });

  it("stops claiming when the signal aborts, and leaves no lease behind", async () => {
    const abort = new AbortController();
    const log = newLog();
    const w = work("A", log);
    const r = await sweepRound(deps, plan("A", { signal: abort.signal, concurrency: 2, batch: 2 }), {
      ...w,
      start: (b) => (abort.abort(), w.start(b)),
    });
    expect(r.results.length).toBe(2);
    expect((await store.sweeps.states()).every((s) => s.owner === null)).toBe(true);
  });
});
