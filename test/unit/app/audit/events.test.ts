import { beforeEach, describe, expect, it } from "vitest";
import { followEvents } from "../../../../src/app/audit/follow.js";
import { listEvents } from "../../../../src/app/audit/list.js";
import { redactSecrets } from "../../../../src/app/audit/redact.js";
import type { Deps } from "../../../../src/app/ports.js";
import { InputError, NotFoundError } from "../../../../src/errors.js";
import { memoryStore } from "../../../fakes/memory-store.js";
import { hostInput } from "../../store/store-kinds.js";

describe("the audit log", () => {
  let store: ReturnType<typeof memoryStore>;
  let deps: Deps;
  const rec = (action: string, target: string, detail?: string) => store.events.record({ actor: "cli:ops", action, target, outcome: "ok", detail });

  beforeEach(async () => {
    store = memoryStore();
    deps = { store, clock: { now: () => new Date() }, connector: null as never, onEvent: () => {}, actor: "test", env: {} };
    const h = await store.hosts.create(hostInput("vps-1"));
    await store.hosts.create(hostInput("vps-2"));
    await store.instances.claim({ customerId: "acme", hostId: h.id, plan: "free", image: "i:1", dedicated: false, leaseOwner: "t", leaseMs: 1, now: new Date() });
    await rec("host.add", "vps-1");
    await rec("host.add", "vps-2");
    await rec("instance.provision", "acme");
    await rec("health.restart", "acme");
    await rec("instance.provision", "globex");
  });

  it("lists newest first, filtered by customer, action prefix and limit", async () => {
    expect((await listEvents(deps)).map((e) => `${e.action} ${e.target}`)).toEqual(["instance.provision globex", "health.restart acme", "instance.provision acme", "host.add vps-2", "host.add vps-1"]);
    expect((await listEvents(deps, { customerId: "acme" })).map((e) => e.action)).toEqual(["health.restart", "instance.provision"]);
    expect((await listEvents(deps, { actionPrefix: "instance." })).map((e) => e.target)).toEqual(["globex", "acme"]);
    expect((await listEvents(deps, { limit: 2 })).length).toBe(2);
  });

  it("takes a host's own events and those of the instances it carried; an unknown host is not found", async () => {
    expect((await listEvents(deps, { host: "vps-1" })).map((e) => `${e.action} ${e.target}`)).toEqual(["health.restart acme", "instance.provision acme", "host.add vps-1"]);
    expect(await listEvents(deps, { host: "vps-2", customerId: "acme" })).toEqual([]);
    await expect(listEvents(deps, { host: "nope" })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("filters by time and refuses a limit out of range", async () => {
    const cut = new Date(Date.now() + 60_000);
    expect(await listEvents(deps, { since: cut })).toEqual([]);
    await expect(listEvents(deps, { limit: 0 })).rejects.toBeInstanceOf(InputError);
    await expect(listEvents(deps, { limit: 10_001 })).rejects.toBeInstanceOf(InputError);
  });

  it("follows: the newest rows oldest first, then new ones once each, until aborted", async () => {
    const abort = new AbortController();
    const got: string[] = [];
    const run = (async () => {
      for await (const e of followEvents(deps, { limit: 2 }, { signal: abort.signal, intervalMs: 20 })) got.push(e.target);
    })();
    await new Promise((r) => setTimeout(r, 50));
    await rec("instance.stop", "acme");
    await rec("instance.stop", "initech");
    await new Promise((r) => setTimeout(r, 120));
    abort.abort();
    await run;
    expect(got).toEqual(["acme", "globex", "acme", "initech"]);
  });

  it("masks anything shaped like a secret in details", async () => {
    const token = "ab".repeat(32);
    await rec("instance.rotate-token", "acme", `curl http://x/?token=${token} Authorization: Bearer abcdefghijkl key sk-ant-api03-XYZxyz123456 url postgresql://u:hunter2@db/x`);
    const [e] = await listEvents(deps, { limit: 1 });
    expect(e!.detail).not.toContain(token);
    expect(e!.detail).not.toContain("abcdefghijkl");
    expect(e!.detail).not.toContain("XYZxyz123456");
    expect(e!.detail).not.toContain("hunter2");
    expect(redactSecrets("restart of acme failed: exit 1")).toBe("restart of acme failed: exit 1");
    expect(redactSecrets(`OPENCLAW_GATEWAY_TOKEN=${token}`)).toBe("OPENCLAW_GATEWAY_TOKEN=***");
  });
});
