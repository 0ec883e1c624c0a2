import { describe, expect, it } from "vitest";
import { pickHost, hostRooms } from "../../../../src/app/hosts/pick.js";
import { hostCapacity } from "../../../../src/app/hosts/capacity.js";
import { setHost } from "../../../../src/app/hosts/set-host.js";
import type { Deps } from "../../../../src/app/ports.js";
import { ConflictError, NotFoundError } from "../../../../src/errors.js";
import { memoryStore } from "../../../fakes/memory-store.js";
import { fakeConnector, manualClock, RecordingShell } from "../../../fakes/recording-shell.js";

async function fleetOf(hosts: { name: string; shared: boolean; capacityMb?: number | null; memTotalMb?: number | null }[], env: NodeJS.ProcessEnv = {}) {
  const store = memoryStore();
  const clock = manualClock();
  const deps: Deps = { store, connector: fakeConnector(new RecordingShell("x")), clock, onEvent: () => {}, actor: "test", env };
  for (const h of hosts) {
    await store.hosts.create({ name: h.name, address: "10.0.0.1", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:k", remoteRoot: "/srv", shared: h.shared, capacityMb: h.capacityMb ?? null, memTotalMb: h.memTotalMb ?? null, dockerOk: true });
  }
  const place = async (customerId: string, host: string, mb: number, plan = "free") => {
    const h = (await store.hosts.get(host))!;
    await store.instances.claim({ customerId, hostId: h.id, plan, image: "gw:1", dedicated: plan !== "free", leaseOwner: "t", leaseMs: 1000, now: clock.now(), needMb: mb, capacityMb: hostCapacity(h, 1024).capacityMb });
    await store.instances.update(customerId, { status: "healthy", leaseOwner: null, leaseUntil: null });
  };
  return { deps, store, place };
}

describe("placement by capacity", () => {
  it("capacity is --capacity-mb, else MemTotal minus the reserve, else unknown", () => {
    expect(hostCapacity({ capacityMb: 2048, memTotalMb: 8000 }, 1024)).toEqual({ capacityMb: 2048, source: "set" });
    expect(hostCapacity({ capacityMb: null, memTotalMb: 8000 }, 1024)).toEqual({ capacityMb: 6976, source: "memtotal" });
    expect(hostCapacity({ capacityMb: null, memTotalMb: 512 }, 1024)).toEqual({ capacityMb: 0, source: "memtotal" });
    expect(hostCapacity({ capacityMb: null, memTotalMb: null }, 1024)).toEqual({ capacityMb: null, source: "unknown" });
  });

  it("free goes to the shared host with the most room, not the one with the fewest instances", async () => {
    const f = await fleetOf([{ name: "a", shared: true, capacityMb: 4096 }, { name: "b", shared: true, capacityMb: 1536 }]);
    await f.place("x1", "a", 512);
    await f.place("x2", "a", 512);
    // a: 3072 free with 2 instances; b: 1536 free with none.
    expect((await pickHost(f.deps, false, 512)).name).toBe("a");
    await f.place("x3", "a", 2048);
    expect((await pickHost(f.deps, false, 512)).name).toBe("b");
  });

  it("the reserve comes from CLAWFLEET_HOST_RESERVE_MB", async () => {
    const f = await fleetOf([{ name: "a", shared: true, memTotalMb: 2048 }], { CLAWFLEET_HOST_RESERVE_MB: "1536" });
    const [room] = await hostRooms(f.deps);
    expect(room!.capacityMb).toBe(512);
    await expect(pickHost(f.deps, false, 1024)).rejects.toThrow(/has 512 MB free of 512 MB/);
  });

  it("no room anywhere: a conflict naming the memory needed and the best host's free memory", async () => {
    const f = await fleetOf([{ name: "a", shared: true, capacityMb: 1024 }, { name: "b", shared: true, capacityMb: 900 }]);
    await f.place("x1", "a", 512);
    await f.place("x2", "b", 512);
    const err = await pickHost(f.deps, false, 1024).catch((e) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(err.message).toBe("no shared host has room for a 1024 MB instance: the best, a, has 512 MB free of 1024 MB");
    expect(err.hint).toMatch(/hosts set a --capacity-mb/);
  });

  it("pro needs an empty dedicated host big enough; drained hosts take nothing", async () => {
    const f = await fleetOf([{ name: "d1", shared: false, capacityMb: 1024 }, { name: "d2", shared: false, capacityMb: 4096 }, { name: "s", shared: true, capacityMb: 99999 }]);
    expect((await pickHost(f.deps, true, 2048)).name).toBe("d2");
    await setHost(f.deps, "d2", { drain: true });
    await expect(pickHost(f.deps, true, 2048)).rejects.toThrow(/the best, d1, has 1024 MB free of 1024 MB/);
    await setHost(f.deps, "d1", { drain: true });
    await expect(pickHost(f.deps, true, 512)).rejects.toThrow(/every dedicated \(non-shared\) host is drained \(d1, d2\)/);
    await setHost(f.deps, "d2", { drain: false });
    await f.place("p1", "d2", 2048, "pro");
    await expect(pickHost(f.deps, true, 512)).rejects.toThrow(/every dedicated host already carries an instance/);
  });

  it("no host of the kind at all is not-found", async () => {
    const f = await fleetOf([{ name: "s", shared: true }]);
    await expect(pickHost(f.deps, true, 512)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("hosts set changes capacity, pool and drain, warns about overcommit, and records an Event", async () => {
    const f = await fleetOf([{ name: "a", shared: true, capacityMb: 4096 }]);
    await f.place("x1", "a", 2048);
    const res = await setHost(f.deps, "a", { capacityMb: 1024, shared: false, drain: true });
    expect(res.changed).toEqual(["capacity 4096 -> 1024 MB", "now dedicated", "drained: takes no new instances"]);
    expect(res.host).toMatchObject({ capacityMb: 1024, shared: false, status: "drained" });
    expect(res.room).toMatchObject({ usedMb: 2048, capacityMb: 1024, instances: 1 });
    expect(res.warnings[0]).toMatch(/already reserve 2048 MB, more than 1024 MB/);
    expect(f.store.eventsLog.filter((e) => e.action === "host.set")).toHaveLength(1);
    expect((await setHost(f.deps, "a", { drain: true })).changed).toEqual([]);
    await expect(setHost(f.deps, "a", {})).rejects.toThrow(/nothing to change/);
  });
});
