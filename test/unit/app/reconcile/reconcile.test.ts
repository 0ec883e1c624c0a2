import { describe, expect, it } from "vitest";
import { reconcile } from "../../../../src/app/reconcile/reconcile.js";
import { RemoteCommandError } from "../../../../src/errors.js";
import { OLD_TOKEN, instanceFixture } from "../instance-fixture.js";

const kinds = (r: Awaited<ReturnType<typeof reconcile>>) => r.findings.map((f) => [f.kind, f.customerId]);

describe("reconcile", () => {
  it("finds nothing when DB and host agree", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    const r = await reconcile(f.deps);
    expect(r).toMatchObject({ findings: [], inSync: ["acme"], unresolved: 0, hosts: [{ name: "h1", reachable: true, engine: "ENGINE-1", containers: 1 }] });
  });

  it("reports missing, drifted, stopped-but-should-run and running-but-stopped instances", async () => {
    const f = await instanceFixture();
    await f.addInstance("gone");
    await f.addInstance("drift");
    await f.addInstance("down");
    await f.addInstance("paused", { status: "stopped" });
    f.world.get("gone")!.container = null;
    f.world.get("drift")!.container!.hash = "e".repeat(64);
    f.world.get("down")!.container!.running = false;
    f.world.get("paused")!.container!.running = true;
    const r = await reconcile(f.deps);
    expect(kinds(r)).toEqual([["missing", "gone"], ["drifted", "drift"], ["stopped", "down"], ["running", "paused"]]);
    expect(r.unresolved).toBe(4);
    expect(f.shell.uploads).toEqual([]);
  });

  it("finds a labelled container started by hand, and one from another root, and removes only the orphan on request", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    f.world.set("hand", { files: false, env: null, container: { id: "b".repeat(64), running: true, health: "healthy", image: "gw:1.0", hash: "x", project: "", workingDir: "" } });
    f.world.set("other", { files: false, env: null, container: { id: "d".repeat(64), running: true, health: "healthy", image: "gw:1.0", hash: "x", workingDir: "/opt/elsewhere/instances/other" } });
    const r = await reconcile(f.deps);
    expect(r.findings).toMatchObject([
      { kind: "orphan", customerId: "hand", hosts: ["h1"], detail: "no instance hand in the DB; not started by compose (by hand?)" },
      { kind: "foreign", customerId: "other" },
    ]);
    expect(r.unresolved).toBe(1);
    const fixed = await reconcile(f.deps, { removeOrphans: true });
    expect(fixed.findings[0]).toMatchObject({ kind: "orphan", action: "removed", fixed: true });
    expect(fixed.unresolved).toBe(0);
    expect(f.shell.commands.at(-1)!.command).toBe(`docker rm -f ${"b".repeat(64)} >/dev/null`);
    expect(f.world.has("other")).toBe(true);
    expect(f.store.eventsLog).toMatchObject([{ action: "reconcile.remove-orphan", outcome: "ok" }]);
  });

  it("--customer-id limits both instances and containers", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    await f.addInstance("beta");
    f.world.get("beta")!.container = null;
    f.world.set("hand", { files: false, env: null, container: { id: "b".repeat(64), running: true, health: "healthy", image: "gw:1.0", hash: "x", project: "", workingDir: "" } });
    const r = await reconcile(f.deps, { customerIds: ["acme"] });
    expect(r).toMatchObject({ findings: [], inSync: ["acme"] });
  });

  it("--fix re-provisions missing and drifted instances with their own token, and starts stopped ones", async () => {
    const f = await instanceFixture();
    const gone = await f.addInstance("gone");
    await f.addInstance("drift");
    await f.addInstance("down");
    f.world.get("gone")!.container = null;
    f.world.get("drift")!.container!.hash = "e".repeat(64);
    f.world.get("down")!.container!.running = false;
    const r = await reconcile(f.deps, { fix: true });
    expect(r.findings.map((x) => [x.kind, x.customerId, x.action, x.fixed])).toEqual([
      ["missing", "gone", "re-provisioned", true],
      ["drifted", "drift", "re-provisioned", true],
      ["stopped", "down", "started", true],
    ]);
    expect(r.unresolved).toBe(0);
    expect(f.world.get("gone")).toMatchObject({ env: { token: OLD_TOKEN }, container: { running: true, hash: gone.configHash } });
    expect(r.findings.some((x) => x.gatewayToken)).toBe(false);
    expect((await reconcile(f.deps)).findings).toEqual([]);
  });

  it("--fix issues a new token, shown once, when the host lost the .env too", async () => {
    const f = await instanceFixture();
    await f.addInstance("gone");
    f.world.set("gone", { files: false, env: null, container: null });
    const r = await reconcile(f.deps, { fix: true });
    const token = r.findings[0]!.gatewayToken!;
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect((await f.store.instances.get("gone"))!.tokenHash).toBe(f.sha(token));
    expect(JSON.stringify([f.store.eventsLog, f.events, f.shell.commands])).not.toContain(token);
  });

  it("a drifted instance that is stopped on purpose is not started by --fix", async () => {
    const f = await instanceFixture();
    await f.addInstance("paused", { status: "stopped" });
    f.world.get("paused")!.container!.hash = "e".repeat(64);
    const r = await reconcile(f.deps, { fix: true });
    expect(r.findings[0]).toMatchObject({ kind: "drifted", action: expect.stringMatching(/^skipped/) });
    expect(f.shell.uploads).toEqual([]);
  });

  it("an unreachable host is reported, not treated as missing instances", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    f.deps.connector.shell = async () => { throw new RemoteCommandError("h1", "connect", "connection refused"); };
    const r = await reconcile(f.deps, { fix: true });
    expect(r.hosts).toMatchObject([{ name: "h1", reachable: false, error: "connection refused" }]);
    expect(kinds(r)).toEqual([["unreachable", "acme"]]);
    expect(r.unresolved).toBe(2);
  });
});
