import { describe, expect, it } from "vitest";
import { destroyInstance } from "../../../../src/app/lifecycle/destroy.js";
import { prune, type ExpiryAlert } from "../../../../src/app/lifecycle/prune.js";
import { instanceStatus } from "../../../../src/app/lifecycle/status.js";
import { InputError, NotFoundError, RemoteCommandError } from "../../../../src/errors.js";
import { instanceFixture } from "../instance-fixture.js";

describe("destroy", () => {
  it("without --force: exit 2 with what would be removed, and nothing is touched", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    const err = await destroyInstance(f.deps, { customerId: "acme" }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    for (const what of ["container cf-acme", "network cf-acme_default", "volume cf-acme-data", "directory /srv/cf/instances/acme", "port slot 0"]) expect(err.message).toContain(what);
    expect(f.shell.commands).toEqual([]);
    const keep = await destroyInstance(f.deps, { customerId: "acme", keepData: true }).catch((e) => e);
    expect(keep.message).not.toMatch(/^ {2}volume/m);
    expect(keep.message).toContain("cf-acme-data is kept");
  });

  it("removes everything, keeps the row as destroyed without a slot, and frees the slot", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    const r = await destroyInstance(f.deps, { customerId: "acme", force: true });
    expect(r).toMatchObject({ customerId: "acme", host: "h1", freedSlot: 0, keptData: false });
    expect(f.world.has("acme")).toBe(false);
    expect(await f.store.instances.get("acme")).toMatchObject({ status: "destroyed", portSlot: null, tokenHash: null });
    expect(f.store.eventsLog).toMatchObject([{ action: "instance.destroy", outcome: "ok" }]);
    await expect(instanceStatus(f.deps, "acme")).rejects.toBeInstanceOf(NotFoundError);
    await expect(destroyInstance(f.deps, { customerId: "acme", force: true })).rejects.toBeInstanceOf(NotFoundError);
    const next = await f.store.instances.claim({ customerId: "beta", hostId: f.host.id, plan: "free", image: "gw:1.0", dedicated: false, leaseOwner: "p", leaseMs: 1, now: f.clock.now() });
    expect(next.portSlot).toBe(0);
  });

  it("a destroy that leaves something behind fails and keeps the row", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    f.deps.connector.shell = async () => ({ hostName: "h1", upload: async () => {}, exec: async () => ({ stdout: "left.containers=0\nleft.networks=0\nleft.volume=1\nleft.dir=0\nleft.site=0\n", stderr: "volume is in use", code: 0, timedOut: false }) });
    const err = await destroyInstance(f.deps, { customerId: "acme", force: true }).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.message).toMatch(/left 1 volume behind/);
    expect((await f.store.instances.get("acme"))!.status).toBe("healthy");
    expect(f.store.eventsLog).toMatchObject([{ action: "instance.destroy", outcome: "failed" }]);
  });
});

describe("prune", () => {
  const now = new Date("2026-11-24T00:00:00Z");

  it("--dry-run lists only expired instances and changes nothing", async () => {
    const f = await instanceFixture();
    await f.addInstance("old", { expiresAt: new Date(now.getTime() - 1000) });
    await f.addInstance("young", { expiresAt: new Date(now.getTime() + 1000) });
    await f.addInstance("forever");
    const r = await prune(f.deps, { dryRun: true });
    expect(r.expired.map((e) => [e.customerId, e.outcome])).toEqual([["old", "would-destroy"]]);
    expect(f.shell.commands).toEqual([]);
    expect(f.store.eventsLog).toEqual([]);
  });

  it("destroys expired instances with their data, records Events and announces each", async () => {
    const f = await instanceFixture();
    await f.addInstance("old", { expiresAt: new Date(now.getTime() - 1000) });
    await f.addInstance("young", { expiresAt: new Date(now.getTime() + 1000) });
    const alerts: ExpiryAlert[] = [];
    const r = await prune(f.deps, { announce: (a) => void alerts.push(a) });
    expect(r.expired).toMatchObject([{ customerId: "old", outcome: "destroyed", announced: true }]);
    expect(f.world.has("old")).toBe(false);
    expect(f.world.has("young")).toBe(true);
    expect(f.shell.commands[0]!.command).toContain("docker volume rm 'cf-old-data'");
    expect(f.store.eventsLog.map((e) => [e.action, e.target, e.outcome])).toEqual([["instance.destroy", "old", "ok"], ["instance.expire", "old", "ok"]]);
    expect(alerts).toEqual([{ kind: "expired", customerId: "old", host: "h1", reason: expect.stringContaining("expired at 2026-11-23T23:59:59.000Z"), at: now.toISOString(), attempts: 0 }]);
  });

  it("a failing webhook or host is reported, never thrown", async () => {
    const f = await instanceFixture();
    await f.addInstance("old", { expiresAt: new Date(now.getTime() - 1000) });
    const r = await prune(f.deps, { announce: () => Promise.reject(new Error("webhook down")) });
    expect(r.expired[0]).toMatchObject({ outcome: "destroyed", announced: false });
    const g = await instanceFixture();
    await g.addInstance("old", { expiresAt: new Date(now.getTime() - 1000) });
    g.deps.connector.shell = async () => { throw new RemoteCommandError("h1", "connect", "connection refused"); };
    const r2 = await prune(g.deps);
    expect(r2).toMatchObject({ failed: 1, expired: [{ outcome: "failed", error: "connection refused" }] });
    expect(g.store.eventsLog.map((e) => [e.action, e.outcome])).toEqual([["instance.destroy", "failed"], ["instance.expire", "failed"]]);
  });
});
