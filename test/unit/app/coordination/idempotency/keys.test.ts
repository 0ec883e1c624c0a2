import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import os from "node:os";
import { onceByKey } from "../../../../../src/app/coordination/idempotency/keys.js";
import type { Deps } from "../../../../../src/app/ports.js";
import { memoryStore } from "../../../../fakes/memory-store.js";
import { fakeConnector, manualClock, RecordingShell } from "../../../../fakes/recording-shell.js";

function setup() {
  const store = memoryStore();
  const clock = manualClock();
  const deps: Deps = { store, connector: fakeConnector(new RecordingShell("x")), clock, onEvent: () => {}, actor: "test", env: {} };
  let runs = 0;
  const call = (key: string, request: unknown, work: () => Promise<{ n: number; secret: string }> = async () => ({ n: ++runs, secret: "s3cret" })) =>
    onceByKey(deps, {
      key,
      operation: "provision",
      customerId: "acme",
      request,
      run: work,
      keep: ({ secret: _s, ...kept }) => kept,
      replay: async (kept) => ({ ...kept, secret: "reissued", replayed: true }),
    });
  return { store, clock, deps, call, runs: () => runs };
}

describe("idempotency keys", () => {
  it("the same key and request replays the first outcome without doing the work again, and never stores the secret", async () => {
    const t = setup();
    expect(await t.call("k1", { plan: "free" })).toEqual({ n: 1, secret: "s3cret" });
    expect(await t.call("k1", { plan: "free" })).toEqual({ n: 1, secret: "reissued", replayed: true });
    expect(t.runs()).toBe(1);
    const rec = await t.store.idempotency.get("k1");
    expect(rec!.status).toBe("done");
    expect(rec!.result).not.toContain("s3cret");
  });

  it("the same key with a different request is a conflict", async () => {
    const t = setup();
    await t.call("k1", { plan: "free" });
    await expect(t.call("k1", { plan: "pro" })).rejects.toMatchObject({ code: "CONFLICT", message: expect.stringMatching(/already used for a different request \(provision of acme\)/) });
  });

  it("a failed first try is run again (it resumes); a running one is a conflict until its claim lapses", async () => {
    const t = setup();
    await expect(t.call("k1", {}, async () => Promise.reject(new Error("host down")))).rejects.toThrow("host down");
    expect((await t.store.idempotency.get("k1"))!.status).toBe("failed");
    expect(await t.call("k1", {})).toEqual({ n: 1, secret: "s3cret" });

    // A call "in flight" in another live process (this one, seen from another machine).
    await t.store.idempotency.begin({ key: "k2", operation: "provision", requestHash: "x", customerId: "acme", owner: "m", ttlMs: 1, now: t.clock.now() });
    let release!: () => void;
    const inFlight = t.call("k3", {}, () => new Promise((r) => (release = () => r({ n: 99, secret: "z" }))));
    await new Promise((r) => setImmediate(r));
    await expect(t.call("k3", {})).rejects.toThrow(/is still running/);
    release();
    await inFlight;
    expect(await t.call("k3", {})).toMatchObject({ n: 99, replayed: true });
  });

  it("a call whose process died (on this machine, or whose claim lapsed) is taken over and finished", async () => {
    const t = setup();
    await t.call("k1", {}).catch(() => undefined);
    const rec = (await t.store.idempotency.get("k1"))!;
    // Make it look as if a now-dead local process held it, still running.
    const gone = spawnSync(process.execPath, ["-e", "0"]).pid!;
    const dead = `${os.hostname()}:${gone}:key-provision:dead`;
    await t.store.idempotency.takeover("k1", { owner: rec.owner, status: rec.status }, dead, new Date(t.clock.now().getTime() + 30_000));
    expect(await t.call("k1", {})).toEqual({ n: 2, secret: "s3cret" });

    const other = `elsewhere:1:key-provision:x`;
    await t.store.idempotency.begin({ key: "k9", operation: "provision", requestHash: "", customerId: "acme", owner: other, ttlMs: 30_000, now: t.clock.now() });
    await expect(t.call("k9", {})).rejects.toThrow(/already used for a different request/);
  });

  it("a retry whose work was already done before the crash recovers the outcome instead of failing", async () => {
    const t = setup();
    const refuse = () => Promise.reject(new Error("already has an instance"));
    const keyed = (recover?: (err: unknown) => Promise<{ n: number } | null>) =>
      onceByKey(t.deps, { key: "k1", operation: "provision", customerId: "acme", request: {}, run: refuse, keep: (r) => r, replay: async (k) => ({ ...k, replayed: true }), recover });
    await expect(keyed()).rejects.toThrow("already has an instance");
    // Now as if a process had died right after the work, before it recorded the outcome.
    const gone = spawnSync(process.execPath, ["-e", "0"]).pid!;
    const rec = (await t.store.idempotency.get("k1"))!;
    await t.store.idempotency.takeover("k1", { owner: rec.owner, status: rec.status }, `${os.hostname()}:${gone}:key-provision:x`, new Date(t.clock.now().getTime() + 30_000));
    await expect(keyed(async () => null)).rejects.toThrow("already has an instance");
    await t.store.idempotency.takeover("k1", { owner: (await t.store.idempotency.get("k1"))!.owner, status: "failed" }, `${os.hostname()}:${gone}:key-provision:x`, new Date(t.clock.now().getTime() + 30_000));
    expect(await keyed(async () => ({ n: 7 }))).toEqual({ n: 7 });
    expect(await keyed()).toEqual({ n: 7, replayed: true });
  });

  it("rejects a malformed key", async () => {
    const t = setup();
    await expect(t.call("has space", {})).rejects.toMatchObject({ code: "INPUT" });
    await expect(t.call("", {})).rejects.toMatchObject({ code: "INPUT" });
  });
});
