import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { provision, type ProvisionResult, type DryRunResult } from "../../../../src/app/provision/provision.js";
import type { Deps } from "../../../../src/app/ports.js";
import type { FleetEvent } from "../../../../src/app/events.js";
import { ConflictError, InputError, RemoteCommandError } from "../../../../src/errors.js";
import { memoryStore } from "../../../fakes/memory-store.js";
import { RecordingShell, fakeConnector, manualClock, type Responder } from "../../../fakes/recording-shell.js";

const ok = (id = "c0ffee") => ({ stdout: `CLAWFLEET_RESULT {"status":"healthy","containerId":"${id}","changed":true,"durationMs":1200}\n` });

async function setup(respond: Responder) {
  const store = memoryStore();
  const shell = new RecordingShell("h1", respond);
  const events: FleetEvent[] = [];
  const deps: Deps = { store, connector: fakeConnector(shell), clock: manualClock(), onEvent: (e) => events.push(e), actor: "test", env: {} };
  await store.hosts.create({ name: "h1", address: "10.0.0.1", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:k", remoteRoot: "/srv/cf", shared: true, capacityMb: null, dockerOk: true });
  return { store, shell, deps, events };
}

const input = { customerId: "acme", plan: "free", host: "h1", image: "gw:1.0" };

/** The files a prepare command wrote from its stdin: `cf_stage PATH MODE` lines, one base64 line each. */
function stagedBy(shell: RecordingShell): { path: string; mode: number; content: string }[] {
  return shell.commands.flatMap(({ command, stdin }) => {
    const targets = [...command.matchAll(/^cf_stage '([^']+)' (0[0-7]+) /gm)];
    const lines = (stdin ?? "").split("\n");
    return targets.map((m, i) => ({ path: m[1]!, mode: parseInt(m[2]!, 8), content: Buffer.from(lines[i] ?? "", "base64").toString("utf8") }));
  });
}

describe("provision", () => {
  it("uploads the files with their modes, runs provision.sh, and keeps only the token's hash", async () => {
    const { store, shell, deps, events } = await setup((cmd) => (cmd.startsWith("bash ") ? ok() : {}));
    const r = (await provision(deps, { ...input, apiKey: "sk-test-1" })) as ProvisionResult;
    expect(r.gatewayToken).toMatch(/^[0-9a-f]{64}$/);
    expect(r.ports.gateway).toBe(18800);
    // Written by the prepare step from its stdin, in the same round trip as the port check: no SFTP.
    const staged = stagedBy(shell);
    expect(staged.map((f) => [f.path, f.mode])).toEqual([
      ["/srv/cf/instances/acme/.staged/docker-compose.yml", 0o644],
      ["/srv/cf/instances/acme/.staged/.env", 0o600],
      ["/srv/cf/instances/acme/.staged/provision.sh", 0o700],
    ]);
    expect(shell.uploads).toEqual([]);
    expect(staged[1]!.content).toContain(`OPENCLAW_GATEWAY_TOKEN=${r.gatewayToken}`);
    expect(staged[0]!.content).toContain("127.0.0.1:18800:18789");
    const row = (await store.instances.get("acme"))!;
    expect(row.status).toBe("healthy");
    expect(row.tokenHash).toBe(createHash("sha256").update(r.gatewayToken).digest("hex"));
    expect(JSON.stringify(row)).not.toContain(r.gatewayToken);
    expect(JSON.stringify(row)).not.toContain("sk-test-1");
    // No secret in any command line, event or audit row.
    const everything = JSON.stringify([shell.commands.map((c) => c.command), events, store.eventsLog]);
    expect(everything).not.toContain(r.gatewayToken);
    expect(everything).not.toContain("sk-test-1");
    expect(r.timings.remoteScript).toBe(1200);
  });

  it("skips a slot whose ports are already listening on the host", async () => {
    const { deps } = await setup((cmd) => (cmd.startsWith("bash ") ? ok() : cmd.includes("/proc/net/tcp") ? { stdout: `own=\nlisten=${(18800).toString(16).toUpperCase()}\n` } : {}));
    const r = (await provision(deps, input)) as ProvisionResult;
    expect(r.ports.gateway).toBe(18920);
  });

  it("uploads the files again for the new slot when the staged ones were rendered for a taken slot", async () => {
    const { deps, shell } = await setup((cmd) => (cmd.startsWith("bash ") ? ok() : cmd.includes("/proc/net/tcp") ? { stdout: `own=\nlisten=${(18800).toString(16).toUpperCase()}\n` } : {}));
    await provision(deps, input);
    expect(stagedBy(shell)[0]!.content).toContain("127.0.0.1:18800:18789");
    expect(shell.uploads.map((f) => f.path)).toEqual(["docker-compose.yml", ".env", "provision.sh"].map((f) => `/srv/cf/instances/acme/.staged/${f}`));
    expect(String(shell.uploads[0]!.content)).toContain("127.0.0.1:18920:18789");
  });

  it("moves to the next slot when compose finds a port taken during start", async () => {
    let runs = 0;
    const { deps, shell } = await setup((cmd) => {
      if (!cmd.startsWith("bash ")) return {};
      runs++;
      return runs === 1 ? { code: 1, stdout: 'CLAWFLEET_RESULT {"status":"failed","reason":"up-failed"}\n', stderr: "Bind for 127.0.0.1:18800 failed: port is already allocated\n" } : ok();
    });
    const r = (await provision(deps, input)) as ProvisionResult;
    expect(runs).toBe(2);
    expect(r.ports.gateway).toBe(18920);
    // The staging dir is made again before the second upload.
    const kinds = shell.commands.map((c) => (c.command.startsWith("bash ") ? "run" : c.command.includes("mkdir -p") ? "prepare" : "other"));
    expect(kinds.filter((k) => k !== "other")).toEqual(["prepare", "run", "prepare", "run"]);
  });

  it("marks the instance failed with the reason and throws the remote error with the log tail", async () => {
    const { deps, store } = await setup((cmd) => (cmd.startsWith("bash ") ? { code: 1, stdout: 'CLAWFLEET_RESULT {"status":"failed","reason":"unhealthy"}\n', stderr: "last 50 lines\nboom\n" } : {}));
    const err = await provision(deps, input).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.stderrTail).toContain("boom");
    expect(await store.instances.get("acme")).toMatchObject({ status: "failed" });
    expect(store.eventsLog.at(-1)).toMatchObject({ action: "instance.provision", outcome: "failed" });
  });

  it("reports a held lock (exit 75) as a conflict", async () => {
    const { deps } = await setup((cmd) => (cmd.startsWith("bash ") ? { code: 75, stdout: 'CLAWFLEET_RESULT {"status":"failed","reason":"lock-timeout"}\n' } : {}));
    await expect(provision(deps, input)).rejects.toBeInstanceOf(ConflictError);
  });

  it("refuses bad input before claiming a row or connecting", async () => {
    const { deps, store, shell } = await setup(() => ok());
    for (const bad of [{ customerId: "Acme" }, { plan: "gold" }, { image: "gw:latest" }, { apiKey: "sk $(reboot)" }]) {
      await expect(provision(deps, { ...input, ...bad })).rejects.toBeInstanceOf(InputError);
    }
    expect(store.rows.size).toBe(0);
    expect(shell.commands).toEqual([]);
  });

  it("--dry-run renders with placeholders and touches nothing", async () => {
    const { deps, store, shell } = await setup(() => ok());
    const r = (await provision(deps, { ...input, dryRun: true, apiKey: "sk-live-key" })) as DryRunResult;
    expect(r.files).toHaveLength(3);
    expect(JSON.stringify(r)).not.toContain("sk-live-key");
    expect(r.files[1]!.content).toContain("generated at provision time");
    expect(store.rows.size).toBe(0);
    expect(shell.commands).toEqual([]);
  });
});
