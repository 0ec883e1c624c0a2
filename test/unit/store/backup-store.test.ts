import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NotFoundError } from "../../../src/errors.js";
import type { NewBackup } from "../../../src/store/backup-types.js";
import { openStore } from "../../../src/store/open.js";
import type { InstanceRecord, Store } from "../../../src/store/types.js";
import { memoryStore } from "../../fakes/memory-store.js";

// The same cases on real SQLite and on the fake, so app tests on the fake see the store's rules.
const now = new Date("2026-12-03T00:00:00Z");
const at = (min: number) => new Date(now.getTime() + min * 60_000);
const BIG = 3_000_000_000;

const kinds: [string, () => Promise<{ store: Store; done: () => void }>][] = [
  ["sqlite", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "cf-backup-store-"));
    return { store: await openStore("file:" + path.join(dir, "cf.db")), done: () => rmSync(dir, { recursive: true, force: true }) };
  }],
  ["memory", async () => ({ store: memoryStore(), done: () => {} })],
];

describe.each(kinds)("backups on %s", (_kind, open) => {
  let store: Store;
  let done: () => void;
  const inst: Record<string, InstanceRecord> = {};
  const input = (customerId: string, minute: number, extra: Partial<NewBackup> = {}): NewBackup => ({
    instanceId: inst[customerId]!.id, customerId, hostName: "h1", plan: "free", trigger: "manual", retention: "plan",
    path: `/var/backups/${customerId}-${minute}.tar.zst`, encrypted: false, recipient: null, at: at(minute), ...extra,
  });
  const take = (customerId: string, minute: number, extra: Partial<NewBackup> = {}) => store.backups.create(input(customerId, minute, extra));

  beforeEach(async () => {
    ({ store, done } = await open());
    const h = await store.hosts.create({ name: "h1", address: "10.0.0.1", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:x", remoteRoot: "/opt/clawfleet", shared: true, capacityMb: null, dockerOk: true });
    for (const c of ["a1", "b1", "c1"]) {
      inst[c] = await store.instances.claim({ customerId: c, hostId: h.id, plan: "free", image: "img:1", dedicated: false, leaseOwner: "t", leaseMs: 1000, now });
    }
  });
  afterEach(async () => {
    await store.close();
    done();
  });

  it("creates a running row and reads it back", async () => {
    const b = await take("a1", 0, { encrypted: true, recipient: "age1xyz" });
    expect(b).toMatchObject({ status: "running", retention: "plan", at: at(0), finishedAt: null, bytes: null, sha256: null, detail: null, encrypted: true, recipient: "age1xyz" });
    expect(await store.backups.get(b.id)).toEqual(b);
    expect(await store.backups.get("nope")).toBeNull();
  });

  it("finishes a backup with a size past 2^31, which comes back as a number", async () => {
    const b = await take("a1", 0);
    const ok = await store.backups.update(b.id, { status: "ok", finishedAt: at(1), bytes: BIG, sha256: "ab".repeat(32), plainSha256: "cd".repeat(32) });
    expect(ok).toMatchObject({ status: "ok", finishedAt: at(1), bytes: BIG, sha256: "ab".repeat(32) });
    const again = (await store.backups.get(b.id))!;
    expect(typeof again.bytes).toBe("number");
    expect(again.bytes).toBe(BIG);
    expect(await store.backups.update(b.id, { retention: "pinned" })).toMatchObject({ retention: "pinned", bytes: BIG, status: "ok" });
  });

  it("refuses to update an unknown backup", async () => {
    const err = await store.backups.update("nope", { status: "ok" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toBe("no backup nope");
  });

  it("lists newest first, by customer, by status, with a limit", async () => {
    const a0 = await take("a1", 0);
    const a2 = await take("a1", 2);
    const b1 = await take("b1", 1);
    await store.backups.update(a0.id, { status: "failed", detail: "boom" });
    expect((await store.backups.list()).map((b) => b.id)).toEqual([a2.id, b1.id, a0.id]);
    expect((await store.backups.list({ customerId: "a1" })).map((b) => b.id)).toEqual([a2.id, a0.id]);
    expect((await store.backups.list({ statuses: ["running"] })).map((b) => b.id)).toEqual([a2.id, b1.id]);
    expect((await store.backups.list({ customerId: "a1", statuses: ["failed", "ok"] })).map((b) => b.id)).toEqual([a0.id]);
    expect((await store.backups.list({ limit: 1 })).map((b) => b.id)).toEqual([a2.id]);
  });

  it("gives each customer's last ok backup and last finished attempt; running rows are not attempts", async () => {
    const ok0 = await take("a1", 0);
    const ok1 = await take("a1", 1);
    const fail2 = await take("a1", 2);
    await take("a1", 3); // still running
    const bFail = await take("b1", 0);
    await take("c1", 0); // running only
    for (const b of [ok0, ok1]) await store.backups.update(b.id, { status: "ok", bytes: BIG });
    await store.backups.update(fail2.id, { status: "failed" });
    await store.backups.update(bFail.id, { status: "failed" });

    const all = await store.backups.latest();
    expect([...all.keys()].sort()).toEqual(["a1", "b1"]);
    expect(all.get("a1")!.lastOk).toMatchObject({ id: ok1.id, bytes: BIG });
    expect(all.get("a1")!.lastAttempt!.id).toBe(fail2.id);
    expect(all.get("b1")).toMatchObject({ lastOk: null, lastAttempt: { id: bFail.id } });

    const some = await store.backups.latest(["b1", "c1", "zz"]);
    expect([...some.keys()]).toEqual(["b1"]);
    expect((await store.backups.latest([])).size).toBe(0);
  });

  it("removes rows by id and counts only the ones it found", async () => {
    const a = await take("a1", 0);
    const b = await take("b1", 0);
    expect(await store.backups.remove([a.id, "nope"])).toBe(1);
    expect(await store.backups.remove([])).toBe(0);
    expect((await store.backups.list()).map((r) => r.id)).toEqual([b.id]);
    expect(await store.backups.get(a.id)).toBeNull();
  });

  it("refuses a backup of an unknown instance", async () => {
    await expect(take("a1", 0, { instanceId: "missing" })).rejects.toThrow(/foreign key/i);
  });
});
