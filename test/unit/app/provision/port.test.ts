import { describe, expect, it } from "vitest";
import { provision, type DryRunResult, type ProvisionResult } from "../../../../src/app/provision/provision.js";
import type { Deps } from "../../../../src/app/ports.js";
import { slotForPort } from "../../../../src/domain/ports.js";
import { ConflictError, InputError } from "../../../../src/errors.js";
import { memoryStore } from "../../../fakes/memory-store.js";
import { RecordingShell, fakeConnector, manualClock, type Responder } from "../../../fakes/recording-shell.js";

const ok = { stdout: 'CLAWFLEET_RESULT {"status":"healthy","containerId":"c0ffee","changed":true}\n' };
/** A host whose listeners are `ports` (as /proc/net/tcp shows them, in hex). */
const listening = (ports: number[]) => ports.map((p) => `listen=${p.toString(16).toUpperCase()}`).join("\n") + "\nown=\n";

async function setup(respond: Responder) {
  const store = memoryStore();
  const shell = new RecordingShell("h1", respond);
  const deps: Deps = { store, connector: fakeConnector(shell), clock: manualClock(), onEvent: () => {}, actor: "test", env: {} };
  await store.hosts.create({ name: "h1", address: "10.0.0.1", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:k", remoteRoot: "/srv/cf", shared: true, capacityMb: null, dockerOk: true });
  return { store, shell, deps };
}
const input = { customerId: "acme", plan: "free", host: "h1", image: "gw:1.0" };
const fails = async (p: Promise<unknown>) => p.then(() => { throw new Error("did not fail"); }, (e: unknown) => e);

describe("slotForPort", () => {
  it("maps a gateway port on the grid to its slot", () => {
    expect(slotForPort(18800, 18800, 120)).toBe(0);
    expect(slotForPort(19040, 18800, 120)).toBe(2);
  });
  it("refuses ports off the grid, naming the nearest, and out of range", () => {
    expect(() => slotForPort(19000, 18800, 120)).toThrow(InputError);
    expect(() => slotForPort(19000, 18800, 120)).toThrow(/not on the slot grid: gateway ports are 18800 \+ k×120/);
    try {
      slotForPort(19000, 18800, 120);
    } catch (e) {
      expect((e as InputError).hint).toMatch(/nearest are 18920 or 19040/);
    }
    expect(() => slotForPort(18680, 18800, 120)).toThrow(/out of range/);
    expect(() => slotForPort(65480, 18800, 120)).toThrow(/out of range/);
  });
});

describe("provision --port", () => {
  it("claims exactly that slot and renders its ports", async () => {
    const { store, deps } = await setup((cmd) => (cmd.startsWith("bash ") ? ok : { stdout: listening([22, 18800]) }));
    const r = (await provision(deps, { ...input, port: 19040 })) as ProvisionResult;
    expect(r.ports).toMatchObject({ gateway: 19040, bridge: 19041, browser: 19042, cdpStart: 19049 });
    expect((await store.instances.get("acme"))!.portSlot).toBe(2);
    const dry = (await provision(deps, { ...input, customerId: "other", port: 19160, dryRun: true })) as DryRunResult;
    expect(dry.ports.gateway).toBe(19160);
  });

  it("refuses a slot another instance holds (exit 4) and claims nothing", async () => {
    const { store, shell, deps } = await setup((cmd) => (cmd.startsWith("bash ") ? ok : { stdout: listening([]) }));
    await provision(deps, { ...input, port: 18920 });
    const before = shell.commands.length;
    const err = await fails(provision(deps, { ...input, customerId: "beta", port: 18920 }));
    expect(err).toBeInstanceOf(ConflictError);
    expect(String(err)).toMatch(/slot 1 is already held by instance acme/);
    expect(await store.instances.get("beta")).toBeNull();
    expect(shell.commands.length).toBe(before);
  });

  it("refuses a port in use on the host (exit 4) before claiming or writing anything", async () => {
    const { store, shell, deps } = await setup((cmd) => (cmd.startsWith("bash ") ? ok : { stdout: listening([18929]) }));
    const err = await fails(provision(deps, { ...input, port: 18920 }));
    expect(err).toBeInstanceOf(ConflictError);
    expect(String(err)).toMatch(/port 18929 of slot 1 is in use on host h1/);
    expect(await store.instances.get("acme")).toBeNull();
    expect(shell.uploads).toEqual([]);
    expect(shell.commands.map((c) => c.command).join("\n")).not.toMatch(/mkdir|cf_stage/);
  });

  it("refuses ports off the grid with exit 2, touching nothing", async () => {
    const { store, shell, deps } = await setup(() => ok);
    expect(await fails(provision(deps, { ...input, port: 19000 }))).toBeInstanceOf(InputError);
    expect(shell.commands).toEqual([]);
    expect(await store.instances.get("acme")).toBeNull();
  });

  it("refuses ids under the test-deploy prefix", async () => {
    const { deps } = await setup(() => ok);
    expect(String(await fails(provision(deps, { ...input, customerId: "cf-test-x1" })))).toMatch(/reserved for `clawfleet test-deploy`/);
  });
});
