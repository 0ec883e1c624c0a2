import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { HostRecord, Store } from "../../../src/store/types.js";
import { hostInput, storeKinds } from "./store-kinds.js";

const now = new Date("2026-12-04T00:00:00Z");
const later = (ms: number) => new Date(now.getTime() + ms);

describe.each(storeKinds)("run slots on %s", (_kind, open) => {
  let store: Store;
  let done: () => void;
  let host: HostRecord;
  const take = (owner: string, at = now, limit = 2, hostId = host.id) => store.runSlots.tryAcquire({ hostId, limit, owner, label: `provision ${owner}`, ttlMs: 30_000, now: at });

  beforeEach(async () => {
    ({ store, done } = await open());
    host = await store.hosts.create(hostInput("h1"));
  });
  afterEach(async () => {
    await store.close();
    done();
  });

  it("hands out the lowest free slots up to the limit, per host, and lists their holders", async () => {
    expect(await take("p1")).toEqual({ slot: 0, until: later(30_000) });
    expect((await take("p2"))?.slot).toBe(1);
    expect(await take("p3")).toBeNull();
    const other = await store.hosts.create(hostInput("h2"));
    expect((await take("p3", now, 2, other.id))?.slot).toBe(0);
    expect(await store.runSlots.holders(host.id, now)).toEqual([
      { hostId: host.id, slot: 0, owner: "p1", label: "provision p1", since: now, until: later(30_000) },
      { hostId: host.id, slot: 1, owner: "p2", label: "provision p2", since: now, until: later(30_000) },
    ]);
    await store.runSlots.release(host.id, 0, "not-me");
    expect(await take("p3")).toBeNull();
    await store.runSlots.release(host.id, 0, "p1");
    expect((await take("p3"))?.slot).toBe(0);
  });

  it("reclaims an expired slot, after which the old holder can no longer renew it", async () => {
    await take("p1");
    await take("p2", later(10_000));
    expect(await take("p3", later(30_000))).toBeNull();
    expect(await store.runSlots.holders(host.id, later(31_000))).toHaveLength(1);
    expect(await take("p3", later(31_000))).toEqual({ slot: 0, until: later(61_000) });
    expect(await store.runSlots.renew(host.id, 0, "p1", later(90_000))).toBe(false);
    expect(await store.runSlots.renew(host.id, 1, "p2", later(90_000))).toBe(true);
    // Renewed: p2's slot stays held past its first expiry.
    expect(await take("p4", later(50_000))).toBeNull();
    expect((await store.runSlots.holders(host.id, later(50_000))).map((h) => [h.slot, h.owner])).toEqual([[0, "p3"], [1, "p2"]]);
  });

  it("gives concurrent callers distinct slots, no more than the limit", async () => {
    const got = await Promise.all(Array.from({ length: 10 }, (_, i) => take(`p${i}`, now, 3)));
    expect(got.filter(Boolean).map((g) => g!.slot).sort()).toEqual([0, 1, 2]);
  });

  it("evicts a slot only while the named owner still holds it, live or not", async () => {
    await take("dead");
    expect(await store.runSlots.evict(host.id, 0, "other")).toBe(false);
    expect(await store.runSlots.evict(host.id, 0, "dead")).toBe(true);
    expect(await store.runSlots.evict(host.id, 0, "dead")).toBe(false);
    expect((await take("p1"))?.slot).toBe(0);
  });

  it("goes with its host when the host is removed", async () => {
    await take("p1");
    await store.hosts.remove("h1");
    expect(await store.runSlots.holders(host.id, now)).toEqual([]);
  });
});
