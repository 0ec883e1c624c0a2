import { describe, expect, it } from "vitest";
import { stopInstance, restartInstance } from "../../../../../src/app/lifecycle/lifecycle.js";
import { upgradeInstance } from "../../../../../src/app/lifecycle/upgrade.js";
import { rotateToken } from "../../../../../src/app/lifecycle/rotate-token.js";
import { destroyInstance } from "../../../../../src/app/lifecycle/destroy.js";
import { ConflictError } from "../../../../../src/errors.js";
import { instanceFixture } from "../../instance-fixture.js";

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
    expect((err as Error).message).toMatch(/held by daemon-7, since .*; it lapses in \d+ min/);
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

describe("withInstanceLease and dead holders", () => {
  it("takes over at once a lease whose process died on this machine, and names a live holder", async () => {
    const { withInstanceLease } = await import("../../../../../src/app/coordination/leases/instance.js");
    const f = await instanceFixture();
    const row = await f.addInstance("acme");
    // A process that has exited: its pid is free (ESRCH) on this machine.
    const { spawnSync } = await import("node:child_process");
    const gone = spawnSync(process.execPath, ["-e", "0"]).pid!;
    const os = await import("node:os");
    const until = new Date(f.deps.clock.now().getTime() + 30_000);
    await f.store.instances.update("acme", { leaseOwner: `${os.hostname()}:${gone}:upgrade:abcd`, leaseUntil: until, leaseSince: f.deps.clock.now() });
    let ran = false;
    await withInstanceLease(f.deps, row, "restart", async () => void (ran = true));
    expect(ran).toBe(true);
    expect(f.events.some((e) => e.type === "warn" && /took over the lease on acme .*pid \d+/.test(e.message))).toBe(true);

    // A live holder (this very test process, seen from another "machine") is not taken over.
    await f.store.instances.update("acme", { leaseOwner: `other-box:${process.pid}:upgrade:abcd`, leaseUntil: until, leaseSince: f.deps.clock.now() });
    const err = await withInstanceLease(f.deps, row, "restart", async () => undefined).catch((e) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(err.message).toMatch(/held by upgrade on host other-box, pid \d+, since .*lapses in 30 s/);
    expect(err.hint).toMatch(/clawfleet unlock acme/);
  });
});
