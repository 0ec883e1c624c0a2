import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { HostRecord, Store } from "../../../src/store/types.js";
import { hostInput, storeKinds } from "./store-kinds.js";

const now = new Date("2026-12-05T00:00:00Z");
const at = (ms: number) => new Date(now.getTime() + ms);

describe.each(storeKinds)("host sweep leases on %s", (_kind, open) => {
  let store: Store;
  let done: () => void;
  let hosts: HostRecord[];
  const ids = () => hosts.map((h) => h.id);
  const claim = (owner: string, extra: { dueBefore?: Date | null; now?: Date; takeoverFrom?: string[]; hostIds?: string[] } = {}) =>
    store.sweeps.claim({ owner, hostIds: extra.hostIds ?? ids(), dueBefore: extra.dueBefore ?? null, now: extra.now ?? now, until: at((extra.now?.getTime() ?? now.getTime()) - now.getTime() + 30_000), takeoverFrom: extra.takeoverFrom });

  beforeEach(async () => {
    ({ store, done } = await open());
    hosts = [];
    for (const n of ["a", "b", "c"]) hosts.push(await store.hosts.create(hostInput(`h-${n}`)));
  });
  afterEach(async () => {
    await store.close();
    done();
  });

  it("gives each host to one claimant; a live lease is refused, a lapsed one or a named dead owner taken over", async () => {
    expect((await claim("d1", { hostIds: [hosts[0]!.id, hosts[1]!.id] })).sort()).toEqual([hosts[0]!.id, hosts[1]!.id].sort());
    expect(await claim("d2")).toEqual([hosts[2]!.id]);
    expect(await claim("d3", { now: at(10_000) })).toEqual([]);
    expect((await claim("d3", { now: at(10_000), takeoverFrom: ["d1"] })).sort()).toEqual([hosts[0]!.id, hosts[1]!.id].sort());
    expect(await claim("d4", { now: at(31_000) })).toEqual(expect.arrayContaining([hosts[2]!.id]));
  });

  it("records a finished sweep for its period, frees the lease, and a due claim skips hosts swept since dueBefore", async () => {
    await claim("d1");
    expect(await store.sweeps.finish("d2", ids(), now)).toBe(0);
    expect(await store.sweeps.finish("d1", [hosts[0]!.id, hosts[1]!.id], now)).toBe(2);
    await store.sweeps.release("d1", [hosts[2]!.id]);
    const states = await store.sweeps.states(ids());
    expect(states.find((s) => s.hostId === hosts[0]!.id)).toMatchObject({ owner: null, until: null, sweptAt: now, sweptBy: "d1" });
    expect(states.find((s) => s.hostId === hosts[2]!.id)).toMatchObject({ owner: null, sweptAt: null });
    // Same period (dueBefore before the sweep): only the unswept host is due; next period, all are.
    expect(await claim("d2", { dueBefore: at(-5_000), now: at(1_000) })).toEqual([hosts[2]!.id]);
    await store.sweeps.release("d2", ids());
    expect((await claim("d2", { dueBefore: at(5_000), now: at(10_000) })).length).toBe(3);
  });

  it("renews only the owner's leases", async () => {
    await claim("d1", { hostIds: [hosts[0]!.id] });
    await claim("d2", { hostIds: [hosts[1]!.id] });
    expect(await store.sweeps.renew("d1", at(90_000))).toBe(1);
    const s = await store.sweeps.states([hosts[0]!.id, hosts[1]!.id]);
    expect(s.find((x) => x.hostId === hosts[0]!.id)!.until).toEqual(at(90_000));
    expect(s.find((x) => x.hostId === hosts[1]!.id)!.until).toEqual(at(30_000));
  });
});
