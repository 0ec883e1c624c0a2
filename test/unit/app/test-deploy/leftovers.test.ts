import { spawnSync } from "node:child_process";
import os from "node:os";
import { describe, expect, it } from "vitest";
import type { Deps } from "../../../../src/app/ports.js";
import { findLeftovers, STALE_AFTER_MS, START_ACTION } from "../../../../src/app/test-deploy/leftovers.js";
import { isTestId, newTestId, CUSTOMER_ID_RE } from "../../../../src/domain/ids.js";
import { memoryStore } from "../../../fakes/memory-store.js";
import { RecordingShell, fakeConnector, manualClock } from "../../../fakes/recording-shell.js";

/** The pid of a process that has really exited. */
const deadPid = () => spawnSync("true").pid!;

async function setup() {
  const store = memoryStore();
  const clock = manualClock();
  const deps: Deps = { store, connector: fakeConnector(new RecordingShell("h1", () => ({}))), clock, onEvent: () => {}, actor: "test", env: {} };
  const host = await store.hosts.create({ name: "h1", address: "10.0.0.1", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:k", remoteRoot: "/srv/cf", shared: true, capacityMb: null, dockerOk: true });
  const add = async (customerId: string, owner: string | null) => {
    await store.instances.claim({ customerId, hostId: host.id, plan: "free", image: "gw:1", dedicated: false, leaseOwner: "p", leaseMs: 1, now: clock.now() });
    await store.instances.update(customerId, { status: "healthy", leaseOwner: null, leaseUntil: null });
    if (owner) await store.events.record({ actor: "t", action: START_ACTION, target: customerId, outcome: "ok", detail: `run ${owner}; plan free` });
  };
  return { store, clock, deps, add };
}

describe("test-deploy leftovers", () => {
  it("ids: reserved prefix, valid customer ids, distinct", () => {
    const a = newTestId(new Date(), () => 0.1);
    expect(isTestId(a) && CUSTOMER_ID_RE.test(a)).toBe(true);
    expect(newTestId(new Date(0), () => 0.1)).not.toBe(newTestId(new Date(0), () => 0.2));
  });

  it("finds runs whose process died on this machine, and old runs; leaves live runs and customers alone", async () => {
    const { clock, deps, add } = await setup();
    await add("cf-test-dead", `${os.hostname()}:${deadPid()}:test-deploy:aaaa`);
    await add("cf-test-live", `${os.hostname()}:${process.ppid}:test-deploy:bbbb`);
    await add("cf-test-remote", `ci-runner-7:4242:test-deploy:cccc`);
    await add("customer", null);
    expect((await findLeftovers(deps)).map((l) => l.row.customerId)).toEqual(["cf-test-dead"]);
    clock.advance(STALE_AFTER_MS + 1);
    const all = await findLeftovers(deps);
    expect(all.map((l) => l.row.customerId)).toEqual(["cf-test-dead", "cf-test-live", "cf-test-remote"]);
    expect(all[0]!.why).toMatch(/run \(pid \d+\) is gone/);
  });

  it("leaves an instance alone while an operation holds its lease", async () => {
    const { store, clock, deps, add } = await setup();
    await add("cf-test-busy", `${os.hostname()}:${deadPid()}:test-deploy:dddd`);
    await store.instances.update("cf-test-busy", { leaseOwner: `${os.hostname()}:${process.pid}:destroy:eeee`, leaseUntil: new Date(clock.now().getTime() + 30_000) });
    expect(await findLeftovers(deps)).toEqual([]);
  });
});
