import { describe, expect, it } from "vitest";
import { stopInstance, restartInstance } from "../../../src/app/lifecycle.js";
import { upgradeInstance } from "../../../src/app/upgrade.js";
import { rotateToken } from "../../../src/app/rotate-token.js";
import { destroyInstance } from "../../../src/app/destroy.js";
import { ConflictError } from "../../../src/errors.js";
import { instanceFixture } from "./instance-fixture.js";

const held = { leaseOwner: "daemon-7", leaseUntil: new Date("2026-11-24T00:05:00Z") };

describe("lifecycle commands take the instance lease the health daemon uses", () => {
  it.each([
    ["stop", (d: never) => stopInstance(d, "acme")],
    ["restart", (d: never) => restartInstance(d, "acme")],
    ["upgrade", (d: never) => upgradeInstance(d, { customerId: "acme", image: "gw:1.1" })],
    ["rotate-token", (d: never) => rotateToken(d, "acme")],
    ["destroy", (d: never) => destroyInstance(d, { customerId: "acme", force: true })],
  ])("%s refuses while another process holds it, touching nothing", async (_name, run) => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    await f.store.instances.update("acme", held);
    const err = await run(f.deps as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toMatch(/being worked on by daemon-7/);
    expect(f.shell.commands).toEqual([]);
    expect((await f.store.instances.get("acme"))!.status).toBe("healthy");
  });

  it("takes over an expired lease, and releases it after success and after failure", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    await f.store.instances.update("acme", { leaseOwner: "dead-daemon", leaseUntil: new Date("2026-11-23T23:00:00Z") });
    await stopInstance(f.deps, "acme");
    expect(await f.store.instances.get("acme")).toMatchObject({ status: "stopped", leaseOwner: null });
    f.behaviour.start = "unhealthy";
    await expect(restartInstance(f.deps, "acme")).rejects.toThrow(/not healthy/);
    expect((await f.store.instances.get("acme"))!.leaseOwner).toBeNull();
  });
});

describe("withInstanceLease's heartbeat", () => {
  it("keeps renewing a short lease while the work runs, then frees it", async () => {
    const { withInstanceLease } = await import("../../../src/app/instance-lease.js");
    const f = await instanceFixture();
    const row = await f.addInstance("acme");
    let t = Date.parse("2026-12-02T12:00:00Z");
    const deps = { ...f.deps, clock: { now: () => new Date(t) } };
    const seen: number[] = [];
    await withInstanceLease(deps, row, "back up", 1000, async () => {
      for (let i = 0; i < 4; i++) {
        t += 600;
        await new Promise((r) => setTimeout(r, 30));
        seen.push((await f.store.instances.get("acme"))!.leaseUntil!.getTime());
      }
    }, undefined, { renewEveryMs: 10 });
    // Without the heartbeat the lease would have lapsed at start + 1 s; it follows the clock instead.
    expect(seen[3]).toBeGreaterThan(Date.parse("2026-12-02T12:00:02Z"));
    expect((await f.store.instances.get("acme"))!.leaseOwner).toBeNull();
  });
});
