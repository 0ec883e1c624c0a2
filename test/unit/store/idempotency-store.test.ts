import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../../../src/store/types.js";
import { storeKinds } from "./store-kinds.js";

const now = new Date("2026-12-04T00:00:00Z");
const later = (ms: number) => new Date(now.getTime() + ms);

describe.each(storeKinds)("idempotency keys on %s", (_kind, open) => {
  let store: Store;
  let done: () => void;
  const begin = (owner: string, requestHash = "h1", at = now) =>
    store.idempotency.begin({ key: "k1", operation: "provision", requestHash, customerId: "acme", owner, ttlMs: 30_000, now: at });

  beforeEach(async () => {
    ({ store, done } = await open());
  });
  afterEach(async () => {
    await store.close();
    done();
  });

  it("inserts a running row for a new key, and returns the existing row unchanged for a repeat", async () => {
    const first = await begin("p1");
    expect(first).toMatchObject({ inserted: true, record: { key: "k1", operation: "provision", requestHash: "h1", customerId: "acme", status: "running", result: null, owner: "p1", until: later(30_000), createdAt: now } });
    const again = await begin("p2", "other-hash", later(1000));
    expect(again.inserted).toBe(false);
    expect(again.record).toMatchObject({ owner: "p1", requestHash: "h1", until: later(30_000), status: "running" });
    expect(await store.idempotency.get("k1")).toMatchObject({ owner: "p1" });
    expect(await store.idempotency.get("nope")).toBeNull();
  });

  it("finishes only while still the running owner, keeping the outcome", async () => {
    await begin("p1");
    expect(await store.idempotency.finish("k1", "p2", "done", "{}")).toBe(false);
    expect(await store.idempotency.renew("k1", "p1", later(60_000))).toBe(true);
    expect(await store.idempotency.finish("k1", "p1", "done", '{"portSlot":0}')).toBe(true);
    expect(await store.idempotency.get("k1")).toMatchObject({ status: "done", result: '{"portSlot":0}', until: later(60_000) });
    expect(await store.idempotency.finish("k1", "p1", "failed", "{}")).toBe(false);
    expect(await store.idempotency.renew("k1", "p1", later(90_000))).toBe(false);
  });

  it("takes over by compare-and-set on owner and status; the old owner then cannot finish", async () => {
    await begin("p1");
    expect(await store.idempotency.takeover("k1", { owner: "p1", status: "failed" }, "p2", later(60_000))).toBe(false);
    expect(await store.idempotency.takeover("k1", { owner: "px", status: "running" }, "p2", later(60_000))).toBe(false);
    expect(await store.idempotency.takeover("k1", { owner: "p1", status: "running" }, "p2", later(60_000))).toBe(true);
    expect(await store.idempotency.takeover("k1", { owner: "p1", status: "running" }, "p3", later(60_000))).toBe(false);
    expect(await store.idempotency.finish("k1", "p1", "done", "{}")).toBe(false);
    expect(await store.idempotency.finish("k1", "p2", "failed", '{"error":"boom"}')).toBe(true);
    // A failed request may be retried: taken over from its failed state, running again with no result.
    expect(await store.idempotency.takeover("k1", { owner: "p2", status: "failed" }, "p3", later(90_000))).toBe(true);
    expect(await store.idempotency.get("k1")).toMatchObject({ status: "running", owner: "p3", result: null, until: later(90_000) });
  });
});
