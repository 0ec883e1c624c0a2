import { describe, expect, it } from "vitest";
import { listInstances } from "../../../../src/app/lifecycle/list.js";
import { instanceStatus } from "../../../../src/app/lifecycle/status.js";
import { instanceLogs } from "../../../../src/app/lifecycle/logs.js";
import { restartInstance, startInstance, stopInstance } from "../../../../src/app/lifecycle/lifecycle.js";
import { ConflictError, HostKeyError, InputError, NotFoundError, RemoteCommandError } from "../../../../src/errors.js";
import { instanceFixture } from "../instance-fixture.js";

describe("list", () => {
  it("lists live instances with host name, health and age; filters by host and plan", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    await f.addInstance("beta");
    await f.store.instances.update("beta", { consecutiveFailures: 2 });
    f.clock.advance(90_000);
    const list = await listInstances(f.deps);
    expect(list.map((i) => [i.customerId, i.host, i.status, i.health, i.ageSec])).toEqual([
      ["acme", "h1", "healthy", "unknown", 90],
      ["beta", "h1", "healthy", "failing(2)", 90],
    ]);
    expect(await listInstances(f.deps, { plan: "pro" })).toEqual([]);
    await expect(listInstances(f.deps, { host: "nope" })).rejects.toBeInstanceOf(NotFoundError);
    expect(f.shell.commands).toEqual([]);
  });

  it("hides destroyed rows unless asked", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    await f.store.instances.update("acme", { status: "destroyed", portSlot: null });
    expect(await listInstances(f.deps)).toEqual([]);
    expect((await listInstances(f.deps, { all: true }))[0]?.status).toBe("destroyed");
  });
});

describe("status", () => {
  it("joins the DB row with the live container and says the config is in sync", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    const s = await instanceStatus(f.deps, "acme");
    expect(s).toMatchObject({ customerId: "acme", host: "h1", status: "healthy", ports: { gateway: 18800 }, cdpPublished: false });
    expect(s.live).toMatchObject({ reachable: true, files: "present", container: { state: "running", health: "healthy", restartCount: 2, loopbackOnly: true, boundPorts: 1 } });
    expect(s.live.container?.uptimeSec).toBe(3600);
    expect(s.config).toMatchObject({ state: "in-sync", outdated: false });
    expect(f.shell.commands).toHaveLength(1);
  });

  it("shows drift when the container's label differs from the DB", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    f.world.get("acme")!.container!.hash = "e".repeat(64);
    const s = await instanceStatus(f.deps, "acme");
    expect(s.config.state).toBe("drifted");
    expect(s.config.live).toBe("e".repeat(64));
  });

  it("says an upgrade is due when the plans render a different config", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    await f.store.instances.update("acme", { configHash: "d".repeat(64) });
    f.world.get("acme")!.container!.hash = "d".repeat(64);
    const s = await instanceStatus(f.deps, "acme");
    expect(s.config).toMatchObject({ state: "in-sync", outdated: true });
  });

  it("reports an unreachable host instead of failing, but never hides a host key problem", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    f.deps.connector.shell = async () => { throw new RemoteCommandError("h1", "connect", "connection refused"); };
    const s = await instanceStatus(f.deps, "acme");
    expect(s.live).toMatchObject({ reachable: false, error: "connection refused", container: null });
    expect(s.config.state).toBe("unknown");
    f.deps.connector.shell = async () => { throw new HostKeyError("h1", "host key mismatch"); };
    await expect(instanceStatus(f.deps, "acme")).rejects.toBeInstanceOf(HostKeyError);
  });

  it("answers NotFoundError for unknown, destroyed and malformed ids", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    await f.store.instances.update("acme", { status: "destroyed" });
    await expect(instanceStatus(f.deps, "acme")).rejects.toThrow(/destroyed/);
    await expect(instanceStatus(f.deps, "nobody")).rejects.toBeInstanceOf(NotFoundError);
    await expect(instanceStatus(f.deps, "x;reboot")).rejects.toBeInstanceOf(InputError);
  });
});

describe("logs", () => {
  it("streams lines, filters --grep on the client and passes --tail and --since on", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    f.behaviour.logs = "GET /healthz -> 200\nstarting\nGET / -> 200\npartial";
    const lines: string[] = [];
    const r = await instanceLogs(f.deps, { customerId: "acme", grep: "GET", tail: 10, since: "2h", onLine: (l) => lines.push(l) });
    expect(lines).toEqual(["GET /healthz -> 200", "GET / -> 200"]);
    expect(r).toEqual({ customerId: "acme", host: "h1", lines: 2, stopped: false });
    expect(f.shell.commands[0]!.command).toContain("docker logs --tail 10 --since 7200s");
  });

  it("rejects a bad --since or --grep before connecting", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    await expect(instanceLogs(f.deps, { customerId: "acme", since: "yesterday", onLine: () => {} })).rejects.toThrow(/--since/);
    await expect(instanceLogs(f.deps, { customerId: "acme", grep: "(", onLine: () => {} })).rejects.toThrow(/--grep/);
    expect(f.shell.commands).toEqual([]);
  });

  it("ends cleanly when the signal aborts a follow", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    const abort = new AbortController();
    f.deps.connector.shell = async () => ({
      hostName: "h1",
      upload: async () => {},
      exec: (_cmd, opts) =>
        new Promise((_resolve, reject) => {
          opts?.onStdout?.("line 1\nline 2\n");
          opts?.signal?.addEventListener("abort", () => reject(opts.signal!.reason));
        }),
    });
    const lines: string[] = [];
    const pending = instanceLogs(f.deps, { customerId: "acme", follow: true, signal: abort.signal, onLine: (l) => lines.push(l) });
    await new Promise((r) => setTimeout(r, 10));
    abort.abort(new Error("interrupted"));
    expect(await pending).toMatchObject({ stopped: true, lines: 2 });
    expect(f.events.some((e) => e.type === "step-fail")).toBe(false);
  });

  it("says NotFound when there is no container", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    f.world.get("acme")!.container = null;
    await expect(instanceLogs(f.deps, { customerId: "acme", onLine: () => {} })).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe("stop, start, restart", () => {
  it("stop records the status as stopped before the container stops, and audits it", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    let statusWhenStopping = "";
    const inner = f.deps.connector.shell;
    f.deps.connector.shell = async (t) => {
      const sh = await inner(t);
      return { ...sh, hostName: sh.hostName, upload: sh.upload.bind(sh), exec: async (cmd, o) => {
        if (cmd.includes("docker stop $ids")) statusWhenStopping = (await f.store.instances.get("acme"))!.status;
        return sh.exec(cmd, o);
      } };
    };
    const r = await stopInstance(f.deps, "acme");
    expect(statusWhenStopping).toBe("stopped");
    expect(r).toMatchObject({ action: "stop", status: "stopped", changed: true });
    expect(f.world.get("acme")!.container!.running).toBe(false);
    expect((await f.store.instances.get("acme"))!.status).toBe("stopped");
    expect(f.store.eventsLog.map((e) => [e.action, e.outcome])).toEqual([["instance.stop", "ok"]]);
  });

  it("a failed stop puts the previous status back", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    f.world.get("acme")!.files = false;
    await expect(stopInstance(f.deps, "acme")).rejects.toThrow(/files of instance acme are missing/);
    expect((await f.store.instances.get("acme"))!.status).toBe("healthy");
    expect(f.store.eventsLog.map((e) => [e.action, e.outcome])).toEqual([["instance.stop", "failed"]]);
  });

  it("start brings a stopped instance up healthy", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme", { status: "stopped" });
    const r = await startInstance(f.deps, "acme");
    expect(r).toMatchObject({ status: "healthy", state: "healthy", changed: true });
    expect((await f.store.instances.get("acme"))!.status).toBe("healthy");
    expect(f.shell.commands[0]!.command).toContain("+ 90 ))");
  });

  it("a restart that never gets healthy exits 1 and marks the instance unhealthy", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme");
    f.behaviour.start = "unhealthy";
    const err = await restartInstance(f.deps, "acme").catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.message).toMatch(/not healthy within 90s after restart \(state unhealthy\)/);
    expect((await f.store.instances.get("acme"))!.status).toBe("unhealthy");
    expect(f.store.eventsLog.at(-1)).toMatchObject({ action: "instance.restart", outcome: "failed" });
  });

  it("refuses instances that are still provisioning; a held lock is a conflict", async () => {
    const f = await instanceFixture();
    await f.addInstance("acme", { status: "provisioning" });
    await expect(restartInstance(f.deps, "acme")).rejects.toBeInstanceOf(ConflictError);
    await f.addInstance("beta");
    f.deps.connector.shell = async () => ({ hostName: "h1", upload: async () => {}, exec: async () => ({ stdout: "", stderr: "", code: 75, timedOut: false }) });
    await expect(stopInstance(f.deps, "beta")).rejects.toBeInstanceOf(ConflictError);
    expect((await f.store.instances.get("beta"))!.status).toBe("healthy");
  });
});
