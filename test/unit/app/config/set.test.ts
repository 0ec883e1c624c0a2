import { describe, expect, it } from "vitest";
import { configSet } from "../../../../src/app/config/set.js";
import { InputError, RemoteCommandError } from "../../../../src/errors.js";
import { apiKeyFingerprint } from "../../../../src/domain/secrets.js";
import { OLD_TOKEN, instanceFixture } from "../instance-fixture.js";

const fails = async (p: Promise<unknown>) => p.then(() => { throw new Error("did not fail"); }, (e: unknown) => e);
const stagedEnv = (f: Awaited<ReturnType<typeof instanceFixture>>) => String([...f.shell.uploads].reverse().find((u) => u.path.endsWith("/.staged/.env"))?.content ?? "");

describe("config set", () => {
  it("re-renders with the new value, records it and the new hash, and names only keys in the Event", async () => {
    const f = await instanceFixture();
    const before = await f.addInstance("acme");
    const r = await configSet(f.deps, { customerId: "acme", set: { OPENCLAW_LOG_LEVEL: "debug" } });
    expect(r).toMatchObject({ action: "updated", changes: [{ key: "OPENCLAW_LOG_LEVEL", from: "info", to: "debug" }] });
    expect(r.configHash.to).not.toBe(before.configHash);
    expect(stagedEnv(f)).toMatch(/^OPENCLAW_LOG_LEVEL=debug$/m);
    expect(stagedEnv(f)).toContain(`OPENCLAW_GATEWAY_TOKEN=${OLD_TOKEN}`);
    expect(await f.store.instances.get("acme")).toMatchObject({ settings: '{"OPENCLAW_LOG_LEVEL":"debug"}', configHash: r.configHash.to, status: "healthy" });
    expect(f.store.eventsLog).toMatchObject([{ action: "instance.config-set", outcome: "ok", detail: "set OPENCLAW_LOG_LEVEL" }]);
    // The same value again changes nothing.
    const uploads = f.shell.uploads.length;
    expect((await configSet(f.deps, { customerId: "acme", set: { OPENCLAW_LOG_LEVEL: "debug" } })).action).toBe("none");
    expect(f.shell.uploads.length).toBe(uploads);
  });

  it("replaces the API key and its fingerprint, never writing the key anywhere but the .env", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    f.world.get("acme")!.env!.apiKey = "sk-ant-old-key-1";
    const r = await configSet(f.deps, { customerId: "acme", apiKey: "sk-ant-new-key-2" });
    expect(r.changes).toEqual([{ key: "ANTHROPIC_API_KEY", from: null, to: apiKeyFingerprint("sk-ant-new-key-2") }]);
    expect(f.world.get("acme")!.env).toEqual({ token: OLD_TOKEN, apiKey: "sk-ant-new-key-2" });
    expect((await f.store.instances.get("acme"))!.apiKeyFingerprint).toBe(apiKeyFingerprint("sk-ant-new-key-2"));
    const everything = JSON.stringify([f.events, f.store.eventsLog, [...f.store.rows.values()], f.shell.commands.map((c) => c.command)]);
    expect(everything).not.toContain("sk-ant-new-key-2");
    expect(everything).not.toContain("sk-ant-old-key-1");
  });

  it("dry run shows the diff and touches nothing; refusals change nothing", async () => {
    const f = await instanceFixture();
    const before = await f.addInstance("acme");
    const r = await configSet(f.deps, { customerId: "acme", set: { OPENCLAW_LOG_LEVEL: "warn" }, dryRun: true });
    expect(r).toMatchObject({ action: "dry-run", changes: [{ key: "OPENCLAW_LOG_LEVEL", from: "info", to: "warn" }] });
    expect(await fails(configSet(f.deps, { customerId: "acme", set: { OPENCLAW_LOG_LEVEL: "loud" } }))).toBeInstanceOf(InputError);
    expect(await fails(configSet(f.deps, { customerId: "acme", set: { OPENCLAW_GATEWAY_TOKEN: "x" } }))).toBeInstanceOf(InputError);
    expect(await fails(configSet(f.deps, { customerId: "acme" }))).toBeInstanceOf(InputError);
    expect(f.shell.commands).toEqual([]);
    expect(await f.store.instances.get("acme")).toEqual(before);
  });

  it("keeps the old settings in the DB when the new ones do not come up healthy", async () => {
    const f = await instanceFixture();
    const before = await f.addInstance("acme");
    f.behaviour.provision = "unhealthy";
    const err = await fails(configSet(f.deps, { customerId: "acme", set: { OPENCLAW_LOG_LEVEL: "debug" } }));
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect((err as RemoteCommandError).hint).toContain("clawfleet config set acme");
    const row = await f.store.instances.get("acme");
    expect(row?.settings ?? null).toBeNull();
    expect(row?.configHash).toBe(before.configHash);
    expect(f.store.eventsLog.map((e) => `${e.action} ${e.outcome}`)).toContain("instance.config-set failed");
  });
});
