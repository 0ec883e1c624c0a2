import { describe, expect, it } from "vitest";
import { upgradeInstance } from "../../../../src/app/lifecycle/upgrade.js";
import { rotateToken } from "../../../../src/app/lifecycle/rotate-token.js";
import { ConflictError, RemoteCommandError } from "../../../../src/errors.js";
import { IMAGE, OLD_TOKEN, instanceFixture } from "../instance-fixture.js";

const everything = (f: Awaited<ReturnType<typeof instanceFixture>>) => JSON.stringify([f.shell.commands, f.events, f.store.eventsLog, [...f.store.rows.values()]]);

describe("upgrade", () => {
  it("does nothing when the instance is in sync and nothing changes", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    const r = await upgradeInstance(f.deps, { customerId: "acme" });
    expect(r.action).toBe("none");
    expect(f.shell.uploads).toEqual([]);
    expect(f.shell.commands.map((c) => c.command)).toHaveLength(1);
    expect(f.store.eventsLog).toEqual([]);
  });

  it("re-provisions with the new image, keeping the customer's token and API key", async () => {
    const f = await instanceFixture();
    const before = await f.addInstance("acme");
    f.world.get("acme")!.env!.apiKey = "sk-ant-keep-me-1";
    const r = await upgradeInstance(f.deps, { customerId: "acme", image: "gw:1.1" });
    expect(r).toMatchObject({ action: "upgraded", image: "gw:1.1", previousImage: IMAGE });
    expect(r.configHash).not.toBe(before.configHash);
    const w = f.world.get("acme")!;
    expect(w.container).toMatchObject({ image: "gw:1.1", hash: r.configHash });
    expect(w.env).toEqual({ token: OLD_TOKEN, apiKey: "sk-ant-keep-me-1" });
    expect(await f.store.instances.get("acme")).toMatchObject({ image: "gw:1.1", configHash: r.configHash, tokenHash: f.sha(OLD_TOKEN), status: "healthy" });
    expect(f.store.eventsLog).toMatchObject([{ action: "instance.upgrade", outcome: "ok", detail: `image ${IMAGE} -> gw:1.1` }]);
    expect(everything(f)).not.toContain(OLD_TOKEN);
    expect(everything(f)).not.toContain("sk-ant-keep-me-1");
  });

  it("re-applies the recorded config when the container drifted", async () => {
    const f = await instanceFixture();
    const row = await f.addInstance("acme");
    f.world.get("acme")!.container!.hash = "e".repeat(64);
    const r = await upgradeInstance(f.deps, { customerId: "acme" });
    expect(r.action).toBe("upgraded");
    expect(f.world.get("acme")!.container!.hash).toBe(row.configHash);
  });

  it("when the new version is unhealthy: exit 1, the previous one keeps running, and Events record the rollback", async () => {
    const f = await instanceFixture();
    const row = await f.addInstance("acme");
    f.behaviour.provision = "unhealthy";
    const err = await upgradeInstance(f.deps, { customerId: "acme", image: "gw:broken" }).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.code).toBe("FAILED");
    expect(err.message).toMatch(/upgrade of acme failed: unhealthy; rolled back: the previous version \(image gw:1.0\) is running, healthy/);
    expect(await f.store.instances.get("acme")).toMatchObject({ image: IMAGE, configHash: row.configHash, status: "healthy" });
    expect(f.store.eventsLog.map((e) => [e.action, e.outcome])).toEqual([["instance.upgrade", "failed"], ["instance.rollback", "ok"]]);
  });

  it("a plan change updates limits and expiry, and refuses a dedicated plan on a shared host", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme", { expiresAt: new Date("2026-12-01T00:00:00Z") });
    const r = await upgradeInstance(f.deps, { customerId: "acme", plan: "pro" });
    expect(r).toMatchObject({ plan: "pro", previousPlan: "free", action: "upgraded" });
    expect(await f.store.instances.get("acme")).toMatchObject({ plan: "pro", expiresAt: null });
    const g = await instanceFixture();
    await g.addInstance("acme");
    await g.addInstance("beta");
    await expect(upgradeInstance(g.deps, { customerId: "beta", plan: "enterprise" })).rejects.toThrow(/needs a dedicated host, and h1 also carries acme/);
    expect(g.shell.commands).toEqual([]);
  });

  it("refuses a stopped instance (it would start it) and a bad image", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme", { status: "stopped" });
    await expect(upgradeInstance(f.deps, { customerId: "acme", image: "gw:1.1" })).rejects.toBeInstanceOf(ConflictError);
    await f.addInstance("beta");
    await expect(upgradeInstance(f.deps, { customerId: "beta", image: "gw:latest" })).rejects.toThrow(/latest/);
    expect(f.shell.commands).toEqual([]);
  });
});

describe("rotate-token", () => {
  it("writes a new token via provision.sh, replaces the DB hash and returns the token once", async () => {
    const f = await instanceFixture();
    const row = await f.addInstance("acme");
    const r = await rotateToken(f.deps, "acme");
    expect(r.gatewayToken).toMatch(/^[0-9a-f]{64}$/);
    expect(r.gatewayToken).not.toBe(OLD_TOKEN);
    expect(r.configChanged).toBe(false);
    expect(f.world.get("acme")!.env!.token).toBe(r.gatewayToken);
    expect(f.shell.uploads.find((u) => u.path.endsWith("/.env"))).toMatchObject({ path: "/srv/cf/instances/acme/.staged/.env", mode: 0o600 });
    expect(await f.store.instances.get("acme")).toMatchObject({ tokenHash: f.sha(r.gatewayToken), configHash: row.configHash });
    expect(f.store.eventsLog).toMatchObject([{ action: "instance.rotate-token", outcome: "ok" }]);
    expect(everything(f)).not.toContain(r.gatewayToken);
  });

  it("a failed rotation leaves the old token in force and the old hash in the DB", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    f.behaviour.provision = "unhealthy";
    const err = await rotateToken(f.deps, "acme").catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.message).toMatch(/the old token stays in force$/);
    expect(f.world.get("acme")!.env!.token).toBe(OLD_TOKEN);
    expect((await f.store.instances.get("acme"))!.tokenHash).toBe(f.sha(OLD_TOKEN));
    expect(f.store.eventsLog.map((e) => [e.action, e.outcome])).toEqual([["instance.rotate-token", "failed"], ["instance.rollback", "ok"]]);
  });

  it("a locked instance is a conflict and nothing changes", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    f.behaviour.provision = "locked";
    await expect(rotateToken(f.deps, "acme")).rejects.toBeInstanceOf(ConflictError);
    expect((await f.store.instances.get("acme"))!.tokenHash).toBe(f.sha(OLD_TOKEN));
  });
});
