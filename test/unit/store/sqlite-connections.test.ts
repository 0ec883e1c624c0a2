import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore } from "../../../src/store/open.js";
import type { HostRecord, Store } from "../../../src/store/types.js";
import { hostInput } from "./store-kinds.js";

// Two stores on one SQLite file are two connections that lock each other, as two CLI processes do.
let dir: string;
let a: Store;
let b: Store;
let host: HostRecord;
const now = new Date("2026-12-04T00:00:00Z");

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "cf-sqlite-conns-"));
  const url = "file:" + path.join(dir, "cf.db");
  a = await openStore(url);
  b = await openStore(url);
  host = await a.hosts.create(hostInput("h1"));
});
afterEach(async () => {
  await Promise.all([a.close(), b.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe("coordination across SQLite connections", () => {
  it("admits only the claims that fit the host's capacity", async () => {
    const got = await Promise.allSettled(Array.from({ length: 5 }, (_, i) =>
      (i % 2 ? a : b).instances.claim({ customerId: `c${i}`, hostId: host.id, plan: "free", image: "img:1", dedicated: false, leaseOwner: "t", leaseMs: 60_000, now, needMb: 1024, capacityMb: 2048, skipSlots: Array.from({ length: i }, (_, k) => k) })));
    expect(got.filter((r) => r.status === "fulfilled")).toHaveLength(2);
    expect((await b.instances.usage()).get(host.id)).toEqual({ usedMb: 2048, count: 2 });
  });

  it("hands out each run slot once", async () => {
    const got = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      (i % 2 ? a : b).runSlots.tryAcquire({ hostId: host.id, limit: 3, owner: `o${i}`, ttlMs: 30_000, now })));
    expect(got.filter(Boolean).map((g) => g!.slot).sort()).toEqual([0, 1, 2]);
    expect(await a.runSlots.holders(host.id, now)).toHaveLength(3);
  });
});
