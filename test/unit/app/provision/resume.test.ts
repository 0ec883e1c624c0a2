import { spawnSync } from "node:child_process";
import os from "node:os";
import { describe, expect, it } from "vitest";
import { provision, type ProvisionResult } from "../../../../src/app/provision/provision.js";
import { unlockInstance } from "../../../../src/app/coordination/leases/unlock.js";
import type { Deps } from "../../../../src/app/ports.js";
import { memoryStore } from "../../../fakes/memory-store.js";
import { RecordingShell, fakeConnector, manualClock, type Responder } from "../../../fakes/recording-shell.js";

const ok = { stdout: `CLAWFLEET_RESULT {"status":"healthy","containerId":"c0ffee","changed":true,"durationMs":1200}\n` };
const deadPid = () => spawnSync(process.execPath, ["-e", "0"]).pid!;

async function setup(respond: Responder = (cmd) => (cmd.startsWith("bash ") ? ok : {})) {
  const store = memoryStore();
  const clock = manualClock();
  const deps: Deps = { store, connector: fakeConnector(new RecordingShell("h1", respond)), clock, onEvent: () => {}, actor: "test", env: {} };
  const mk = (name: string) => store.hosts.create({ name, address: "10.0.0.1", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:k", remoteRoot: "/srv/cf", shared: true, capacityMb: 4096, dockerOk: true });
  return { store, clock, deps, h1: await mk("h1"), h2: await mk("h2") };
}

const input = { customerId: "acme", plan: "free", image: "gw:1.0" };

describe("provision after a crash", () => {
  it("takes over at once the claim of a provision whose process died here, on the same host and slot", async () => {
    const t = await setup();
    await t.store.instances.claim({ customerId: "acme", hostId: t.h2.id, plan: "free", image: "gw:1.0", dedicated: false, leaseOwner: `${os.hostname()}:${deadPid()}:provision:x`, leaseMs: 30_000, now: t.clock.now(), needMb: 512, capacityMb: 4096 });
    const slot = (await t.store.instances.get("acme"))!.portSlot;
    // Without --host it goes back to h2 (h1 has as much room): the half-done install is there.
    const r = (await provision(t.deps, input)) as ProvisionResult;
    expect(r.host).toBe("h2");
    expect((await t.store.instances.get("acme"))!).toMatchObject({ status: "healthy", portSlot: slot, leaseOwner: null });
  });

  it("refuses, naming the holder, while a live process provisions; and refuses another --host for an unfinished install", async () => {
    const t = await setup();
    await t.store.instances.claim({ customerId: "acme", hostId: t.h2.id, plan: "free", image: "gw:1.0", dedicated: false, leaseOwner: `elsewhere:${process.pid}:provision:x`, leaseMs: 30_000, now: t.clock.now(), needMb: 512, capacityMb: 4096 });
    await expect(provision(t.deps, input)).rejects.toThrow(/provision on host elsewhere, pid \d+, since .*lapses in 30 s/);
    await expect(provision(t.deps, { ...input, host: "h1" })).rejects.toThrow(/unfinished install on h2/);
    // Once the lease lapses, the next run resumes it.
    t.clock.advance(31_000);
    expect(((await provision(t.deps, input)) as ProvisionResult).host).toBe("h2");
  });

  it("a fresh install whose container could not be removed says so in its row", async () => {
    const t = await setup((cmd) =>
      cmd.startsWith("bash ") ? { code: 1, stdout: `CLAWFLEET_RESULT {"status":"failed","reason":"unhealthy","message":"not healthy within 8s; container left: docker rm timed out","containerLeft":true}\n` } : {},
    );
    await expect(provision(t.deps, { ...input, host: "h1" })).rejects.toThrow(/did not become healthy/);
    const row = (await t.store.instances.get("acme"))!;
    expect(row).toMatchObject({ status: "failed", containerLeft: true, leaseOwner: null });
    expect(row.statusReason).toMatch(/^container left: /);
    // Its memory still counts, and a re-run must finish it on h1.
    expect((await t.store.instances.usage()).get(t.h1.id)).toEqual({ usedMb: 512, count: 1 });
    await expect(provision(t.deps, { ...input, host: "h2" })).rejects.toThrow(/unfinished install on h1/);
  });

  it("unlock marks an interrupted provision failed so the next run resumes; a live lease needs force", async () => {
    const t = await setup();
    await t.store.instances.claim({ customerId: "acme", hostId: t.h1.id, plan: "free", image: "gw:1.0", dedicated: false, leaseOwner: "other-box:77:provision:x", leaseMs: 30_000, now: t.clock.now(), needMb: 512, capacityMb: 4096 });
    await expect(unlockInstance(t.deps, "acme")).rejects.toThrow(/which may still be working/);
    const r = await unlockInstance(t.deps, "acme", { force: true });
    expect(r).toMatchObject({ status: "failed", released: { owner: "other-box:77:provision:x", why: "forced" } });
    expect(t.store.eventsLog.some((e) => e.action === "instance.unlock")).toBe(true);
    expect(await unlockInstance(t.deps, "acme")).toMatchObject({ released: null });
    expect(((await provision(t.deps, input)) as ProvisionResult).status).toBe("healthy");
  });
});
