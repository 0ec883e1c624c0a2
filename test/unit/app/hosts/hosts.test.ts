import { describe, expect, it } from "vitest";
import { addHost, removeHost, rekeyHost } from "../../../../src/app/hosts/hosts.js";
import type { Deps } from "../../../../src/app/ports.js";
import { ConflictError, HostKeyError, InputError } from "../../../../src/errors.js";
import { memoryStore } from "../../../fakes/memory-store.js";
import { RecordingShell, fakeConnector, manualClock } from "../../../fakes/recording-shell.js";

const KEY = "SHA256:" + "A".repeat(43);
const OTHER = "SHA256:" + "B".repeat(43);

function setup(dockerOut = "docker=ok 20.10.24\ncompose=v1\n") {
  const store = memoryStore();
  const shell = new RecordingShell("h1", () => ({ stdout: dockerOut }));
  const connector = fakeConnector(shell, KEY);
  const events: string[] = [];
  const deps: Deps = { store, connector, clock: manualClock(), onEvent: (e) => events.push(`${e.type}:${"step" in e ? e.step : ""}`), actor: "test", env: {} };
  return { store, shell, connector, deps, events };
}

describe("hosts add", () => {
  it("pins the key seen with --accept-new and records an Event", async () => {
    const { deps, store, events } = setup();
    const res = await addHost(deps, { name: "h1", ssh: "ops@10.0.0.1:2200", acceptNew: true });
    expect(res.fingerprint).toBe(KEY);
    expect(res.host).toMatchObject({ address: "10.0.0.1", port: 2200, user: "ops", hostKey: KEY, remoteRoot: "/opt/clawfleet" });
    expect(store.eventsLog.map((e) => e.action)).toEqual(["host.add"]);
    expect(events).toContain("step-done:connect");
  });

  it("refuses without --host-key or --accept-new, naming how to get the fingerprint", async () => {
    const { deps, store } = setup();
    const err = await addHost(deps, { name: "h1", ssh: "ops@10.0.0.1:2200" }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.hint).toContain("ssh-keyscan -p 2200 10.0.0.1 | ssh-keygen -lf -");
    expect(await store.hosts.list()).toEqual([]);
  });

  it("records nothing but a refusal Event when the pinned key does not match", async () => {
    const { deps, store, connector } = setup();
    connector.probe = async (t) => {
      throw new HostKeyError(t.name, "host key mismatch", { expected: t.hostKey!, actual: KEY });
    };
    await expect(addHost(deps, { name: "h1", ssh: "ops@10.0.0.1", hostKey: OTHER })).rejects.toBeInstanceOf(HostKeyError);
    expect(await store.hosts.list()).toEqual([]);
    expect(store.eventsLog).toMatchObject([{ action: "host.key-refused", outcome: "refused", target: "h1" }]);
  });

  it("still records a host whose user cannot run docker, saying what to fix", async () => {
    const { deps } = setup("docker=denied permission denied while trying to connect\ncompose=v1\n");
    const res = await addHost(deps, { name: "h1", ssh: "ops@10.0.0.1", acceptNew: true });
    expect(res.docker.ok).toBe(false);
    expect(res.docker.detail).toContain("usermod -aG docker");
    expect(res.host.dockerOk).toBe(false);
  });

  it("refuses a duplicate name before connecting", async () => {
    const { deps, shell } = setup();
    await addHost(deps, { name: "h1", ssh: "ops@10.0.0.1", acceptNew: true });
    const before = shell.commands.length;
    await expect(addHost(deps, { name: "h1", ssh: "ops@10.0.0.2", acceptNew: true })).rejects.toBeInstanceOf(ConflictError);
    expect(shell.commands.length).toBe(before);
  });

  it.each(["ops@", "@10.0.0.1", "ops@10.0.0.1:99999", "ops@host;rm -rf /", "nouser"])("rejects malformed --ssh %s", async (ssh) => {
    const { deps } = setup();
    await expect(addHost(deps, { name: "h1", ssh, acceptNew: true })).rejects.toBeInstanceOf(InputError);
  });

  it("rejects a host name with shell characters", async () => {
    const { deps } = setup();
    await expect(addHost(deps, { name: "h1;reboot", ssh: "ops@10.0.0.1", acceptNew: true })).rejects.toThrow(/name/);
  });
});

describe("hosts remove and rekey", () => {
  it("refuses to remove a host with live instances", async () => {
    const { deps, store } = setup();
    const { host } = await addHost(deps, { name: "h1", ssh: "ops@10.0.0.1", acceptNew: true });
    await store.instances.claim({ customerId: "acme", hostId: host.id, plan: "free", image: "i:1", dedicated: false, leaseOwner: "t", leaseMs: 1000, now: new Date() });
    await expect(removeHost(deps, "h1")).rejects.toBeInstanceOf(ConflictError);
  });

  it("rekey pins the new key and drops the pooled connection", async () => {
    const { deps, store, connector } = setup();
    await addHost(deps, { name: "h1", ssh: "ops@10.0.0.1", hostKey: KEY });
    const res = await rekeyHost(deps, "h1", { acceptNew: true });
    expect(res.fingerprint).toBe(KEY);
    expect(connector.forgotten).toEqual(["h1"]);
    expect(store.eventsLog.map((e) => e.action)).toEqual(["host.add", "host.rekey"]);
  });
});
