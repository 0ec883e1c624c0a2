import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConflictError } from "../../../src/errors.js";
import type { ClaimInput, HostRecord, Store } from "../../../src/store/types.js";
import { hostInput, storeKinds } from "./store-kinds.js";

const now = new Date("2026-12-04T00:00:00Z");
const later = (ms: number) => new Date(now.getTime() + ms);

describe.each(storeKinds)("claims with capacity on %s", (_kind, open) => {
  let store: Store;
  let done: () => void;
  let host: HostRecord;
  const claim = (customerId: string, extra: Partial<ClaimInput> = {}) =>
    store.instances.claim({ customerId, hostId: host.id, plan: "free", image: "img:1", dedicated: false, leaseOwner: "t", leaseMs: 60_000, now, needMb: 1024, capacityMb: 3072, ...extra });

  beforeEach(async () => {
    ({ store, done } = await open());
    host = await store.hosts.create(hostInput("vps-1", { memTotalMb: 4096, transfer: "sftp" }));
  });
  afterEach(async () => {
    await store.close();
    done();
  });

  it("stores the host's memTotalMb and transfer, and updates them", async () => {
    expect(await store.hosts.get("vps-1")).toMatchObject({ memTotalMb: 4096, transfer: "sftp" });
    expect(await store.hosts.update("vps-1", { memTotalMb: 8192, transfer: "exec" })).toMatchObject({ memTotalMb: 8192, transfer: "exec" });
  });

  it("records the plan's memory and the lease's start, and refuses the claim that would overfill the host", async () => {
    expect(await claim("a1")).toMatchObject({ memoryMb: 1024, leaseSince: now, containerLeft: false });
    await claim("b1");
    const err = await claim("c1", { needMb: 2048 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).message).toBe("host vps-1 has no room for a 2048 MB instance: 1024 MB free of 3072 MB");
    expect((err as ConflictError).hint).toContain("clawfleet hosts set vps-1 --capacity-mb N");
    expect(await store.instances.get("c1")).toBeNull();
    expect((await claim("c1")).memoryMb).toBe(1024);
  });

  it("counts failed rows only while their container is left, never destroyed ones, and not the customer's own row", async () => {
    await claim("a1", { needMb: 2048 });
    await claim("b1");
    await store.instances.update("a1", { status: "failed", containerLeft: true });
    await expect(claim("c1")).rejects.toThrow(/no room/);
    await store.instances.update("a1", { containerLeft: false });
    await claim("c1");
    await store.instances.update("b1", { status: "destroyed", portSlot: null });
    await store.instances.update("c1", { status: "healthy" });
    await expect(claim("d1", { needMb: 2049 })).rejects.toThrow(/2048 MB free of 3072 MB/);
    // The host is full again; resuming a1 replaces its own reservation instead of adding to it.
    await store.instances.update("a1", { containerLeft: true });
    await expect(claim("d1", { needMb: 1 })).rejects.toThrow(/0 MB free of 3072 MB/);
    expect((await claim("a1", { needMb: 2048 })).status).toBe("provisioning");
  });

  it("admits only as many concurrent claims as fit", async () => {
    const got = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => claim(`c${i}`)));
    expect(got.filter((r) => r.status === "fulfilled")).toHaveLength(3);
    expect(got.filter((r) => r.status === "rejected").every((r) => /no room/.test(String((r as PromiseRejectedResult).reason)))).toBe(true);
  });

  it("claims without a capacity, and counts a null memoryMb as none", async () => {
    await claim("a1", { needMb: undefined, capacityMb: null });
    await claim("b1", { needMb: 5000, capacityMb: undefined });
    expect((await store.instances.get("a1"))!.memoryMb ?? null).toBeNull();
    await expect(claim("c1", { needMb: 1, capacityMb: 5000 })).rejects.toThrow("host vps-1 has no room for a 1 MB instance: 0 MB free of 5000 MB");
    expect(await claim("c1", { needMb: 0, capacityMb: 5000 })).toMatchObject({ memoryMb: 0 });
  });

  it("sums usage per host by the same rule", async () => {
    const other = await store.hosts.create(hostInput("vps-2"));
    await claim("a1", { needMb: 512 });
    await claim("b1", { needMb: 256 });
    await claim("c1", { needMb: 128, hostId: other.id });
    await claim("d1", { needMb: 64 });
    await store.instances.update("b1", { status: "failed", containerLeft: true });
    await store.instances.update("d1", { status: "failed" });
    const usage = await store.instances.usage();
    expect(usage.get(host.id)).toEqual({ usedMb: 768, count: 2 });
    expect(usage.get(other.id)).toEqual({ usedMb: 128, count: 1 });
    await store.instances.update("c1", { status: "destroyed" });
    expect((await store.instances.usage()).has(other.id)).toBe(false);
  });

  it("names the holder of a live provision, and lets its dead owner's lease be taken over", async () => {
    const owner = "ci-1:4242:provision:ab12cd34";
    const first = await claim("a1", { leaseOwner: owner });
    const err = await claim("a1", { leaseOwner: "me", now: later(37_000) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toBe(`customer a1 is being provisioned by provision on host ci-1, pid 4242, since ${now.toISOString()}; it lapses in 23 s`);
    await expect(claim("a1", { leaseOwner: "me", takeoverFrom: "someone-else:1:x:ff" })).rejects.toThrow(/being provisioned/);
    const taken = await claim("a1", { leaseOwner: "me", takeoverFrom: owner, now: later(1000) });
    expect(taken).toMatchObject({ leaseOwner: "me", leaseSince: later(1000), leaseFence: first.leaseFence + 1, portSlot: first.portSlot });
  });

  it("refuses a claim on a host that does not exist", async () => {
    await expect(claim("a1", { hostId: "missing" })).rejects.toThrow();
    expect(await store.instances.get("a1")).toBeNull();
  });
});
