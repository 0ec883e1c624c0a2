import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../../../src/store/types.js";
import { hostInput, storeKinds } from "./store-kinds.js";

const now = new Date("2026-12-04T00:00:00Z");
const later = (ms: number) => new Date(now.getTime() + ms);
const LIVE = ["healthy", "unhealthy", "quarantined", "stopped"] as const;

describe.each(storeKinds)("lease takeover, unlock and renew on %s", (_kind, open) => {
  let store: Store;
  let done: () => void;
  const acquire = (owner: string, at = now) => store.leases.acquire({ customerId: "a1", owner, ttlMs: 30_000, now: at, statuses: [...LIVE] });
  const takeover = (fromOwner: string, owner: string, at = now) => store.leases.takeover({ customerId: "a1", fromOwner, owner, ttlMs: 30_000, now: at, statuses: [...LIVE] });

  beforeEach(async () => {
    ({ store, done } = await open());
    const h = await store.hosts.create(hostInput("h1"));
    await store.instances.claim({ customerId: "a1", hostId: h.id, plan: "free", image: "img:1", dedicated: false, leaseOwner: "prov", leaseMs: 1000, now });
    await store.instances.update("a1", { status: "healthy", leaseOwner: null, leaseUntil: null, leaseSince: null });
  });
  afterEach(async () => {
    await store.close();
    done();
  });

  it("stamps leaseSince when a lease is taken, keeps it while the owner re-acquires, and clears it on release", async () => {
    const first = (await acquire("d1"))!;
    expect(first.row.leaseSince).toEqual(now);
    const again = (await acquire("d1", later(5000)))!;
    expect(again.row.leaseSince).toEqual(now);
    expect(again.fence).toBe(first.fence + 1);
    expect(await store.leases.release(again)).toBe(true);
    expect((await store.instances.get("a1"))!.leaseSince ?? null).toBeNull();
  });

  it("takes over a live lease only from the named owner and status, moving the fence past the old holder", async () => {
    const old = (await acquire("dead:1:stop:aa"))!;
    expect(await acquire("me")).toBeNull();
    expect(await takeover("someone-else", "me")).toBeNull();
    await store.instances.update("a1", { status: "provisioning" });
    expect(await takeover("dead:1:stop:aa", "me")).toBeNull();
    await store.instances.update("a1", { status: "healthy" });
    const mine = (await takeover("dead:1:stop:aa", "me", later(1000)))!;
    expect(mine).toMatchObject({ owner: "me", fence: old.fence + 1, until: later(31_000) });
    expect(mine.row).toMatchObject({ leaseOwner: "me", leaseSince: later(1000) });
    expect(await store.leases.write(old, { restartCount: 7 })).toBe(false);
    expect(await store.leases.write(mine, { restartCount: 1 })).toBe(true);
    expect((await store.instances.get("a1"))!.restartCount).toBe(1);
  });

  it("unlock returns the cleared lease and bumps the fence, so the old holder's writes fail", async () => {
    expect(await store.leases.unlock("a1", now)).toBeNull();
    const before = (await store.instances.get("a1"))!.leaseFence;
    const old = (await acquire("d1"))!;
    expect(await store.leases.unlock("a1", later(1000))).toEqual({ owner: "d1", since: now, until: later(30_000) });
    const row = (await store.instances.get("a1"))!;
    expect(row).toMatchObject({ leaseOwner: null, leaseUntil: null, leaseFence: before + 2 });
    expect(row.leaseSince ?? null).toBeNull();
    expect(await store.leases.write(old, { consecutiveFailures: 9 })).toBe(false);
    expect(await store.leases.renew(old, later(60_000))).toBe(false);
    expect(await store.leases.release(old)).toBe(false);
    expect((await store.instances.get("a1"))!.consecutiveFailures).toBe(0);
    expect(await store.leases.unlock("nope", now)).toBeNull();
  });

  it("renews only the current lease's expiry", async () => {
    const first = (await acquire("d1"))!;
    expect(await store.leases.renew(first, later(90_000))).toBe(true);
    expect((await store.instances.get("a1"))!.leaseUntil).toEqual(later(90_000));
    // Renewed: another owner cannot take it at the first expiry.
    expect(await acquire("d2", later(31_000))).toBeNull();
    const second = (await acquire("d2", later(91_000)))!;
    expect(await store.leases.renew(first, later(200_000))).toBe(false);
    expect((await store.instances.get("a1"))!).toMatchObject({ leaseOwner: "d2", leaseUntil: second.until });
  });
});
