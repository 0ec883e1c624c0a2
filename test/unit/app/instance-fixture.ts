import { createHash } from "node:crypto";
import type { Deps } from "../../../src/app/ports.js";
import type { FleetEvent } from "../../../src/app/events.js";
import { desiredFor } from "../../../src/app/provision/desired.js";
import { loadPlans } from "../../../src/domain/plans.js";
import type { ExecOptions } from "../../../src/remote/types.js";
import { memoryStore } from "../../fakes/memory-store.js";
import { RecordingShell, fakeConnector, manualClock } from "../../fakes/recording-shell.js";

export const IMAGE = "gw:1.0";
export const OLD_TOKEN = "a".repeat(64);
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/** One customer's state on the fake host. */
export interface FakeInstance {
  files: boolean;
  env: { token: string; apiKey?: string } | null;
  container: { id: string; running: boolean; health: string; image: string; hash: string; customer?: string; project?: string; workingDir?: string } | null;
}

/**
 * A fake host that answers the lifecycle scripts from a table of instances, the way the real
 * scripts would: provision.sh swaps files in (or, when told to fail, leaves the previous ones), stop
 * and start flip the container, destroy removes everything.
 */
export async function instanceFixture() {
  const store = memoryStore();
  const clock = manualClock();
  const world = new Map<string, FakeInstance>();
  const events: FleetEvent[] = [];
  const behaviour = { provision: "ok" as "ok" | "unhealthy" | "locked", start: "healthy", logs: "", engine: "ENGINE-1" };
  const shell = new RecordingShell("h1", (command, options) => respond(command, options));
  const deps: Deps = { store, connector: fakeConnector(shell), clock, onEvent: (e) => events.push(e), actor: "test", env: {} };
  const host = await store.hosts.create({ name: "h1", address: "10.0.0.1", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:k", remoteRoot: "/srv/cf", shared: true, capacityMb: null, dockerOk: true });
  const plans = await loadPlans();

  /** A healthy instance as provision leaves it: row, files, .env and a running container in sync. */
  async function addInstance(customerId: string, over: { plan?: string; status?: string; expiresAt?: Date | null } = {}) {
    const plan = over.plan ?? "free";
    await store.instances.claim({ customerId, hostId: host.id, plan, image: IMAGE, dedicated: plan !== "free", leaseOwner: "p", leaseMs: 1000, now: clock.now() });
    const row = await store.instances.get(customerId);
    const { configHash } = desiredFor(plans, host, row!);
    await store.instances.update(customerId, { status: (over.status ?? "healthy") as never, configHash, tokenHash: sha(OLD_TOKEN), leaseOwner: null, leaseUntil: null, expiresAt: over.expiresAt ?? null });
    world.set(customerId, { files: true, env: { token: OLD_TOKEN }, container: { id: (customerId + "0".repeat(64)).replace(/[^0-9a-f]/g, "f").slice(0, 64), running: over.status !== "stopped", health: "healthy", image: IMAGE, hash: configHash } });
    return { ...(await store.instances.get(customerId))! };
  }

  function containerLine(customerId: string, c: NonNullable<FakeInstance["container"]>): string {
    const labels: Record<string, string> = { "io.clawfleet.managed": "true", "io.clawfleet.customer": c.customer ?? customerId, "io.clawfleet.config-hash": c.hash };
    if (c.project !== "") labels["com.docker.compose.project"] = c.project ?? `cf-${customerId}`;
    if (c.workingDir !== "") labels["com.docker.compose.project.working_dir"] = c.workingDir ?? `/srv/cf/instances/${customerId}`;
    const state = { Status: c.running ? "running" : "exited", Running: c.running, StartedAt: "2026-11-23T23:00:00Z", FinishedAt: "0001-01-01T00:00:00Z", ExitCode: 0, Health: { Status: c.health, FailingStreak: 0 } };
    const ports = { "18789/tcp": [{ HostIp: "127.0.0.1", HostPort: "18800" }] };
    return "container=" + JSON.stringify({ id: c.id, name: `/cf-${customerId}`, image: c.image, labels, state, restartCount: 2, ports });
  }

  const idOf = (command: string) => /cf-(?!proxy\b)([a-z][a-z0-9-]+?)(?:-data)?'/.exec(command)?.[1] ?? /instances\/([a-z][a-z0-9-]+)/.exec(command)?.[1] ?? "";

  function respond(command: string, options: ExecOptions) {
    const id = idOf(command);
    const inst = world.get(id);
    if (command.includes("echo files=present")) {
      return { stdout: `files=${inst?.files ? "present" : "missing"}\n` + (inst?.container ? containerLine(id, inst.container) + "\n" : "") };
    }
    if (command.includes("echo \"engine=")) {
      const lines = [`engine=${behaviour.engine}`, ...[...world].filter(([, w]) => w.container).map(([c, w]) => containerLine(c, w.container!))];
      return { stdout: lines.join("\n") + "\n" };
    }
    if (command.includes("echo env=present")) {
      if (!inst?.env) return { stdout: "env=missing\n" };
      return { stdout: `env=present\nOPENCLAW_GATEWAY_TOKEN=${inst.env.token}\n${inst.env.apiKey ? `ANTHROPIC_API_KEY=${inst.env.apiKey}\n` : ""}` };
    }
    if (command.startsWith("bash ")) return provisionRun(id);
    if (command.includes("token-sha256")) return { stdout: `token-sha256=${inst?.env ? sha(inst.env.token) : ""}\n` };
    if (command.includes("left.containers")) {
      world.delete(id);
      return { stdout: "left.containers=0\nleft.networks=0\nleft.volume=0\nleft.dir=0\nleft.site=0\n" };
    }
    if (command.includes("docker stop $ids")) {
      if (!inst?.files) return { code: 66 };
      inst.container!.running = false;
      return { stdout: "state=stopped\n" };
    }
    if (command.includes("cfc up -d") || command.includes("docker restart $ids") || command.includes("docker start $ids")) {
      if (!inst?.files) return { code: 66 };
      inst.container = { ...inst.container!, running: true, health: behaviour.start };
      const ready = behaviour.start === "healthy";
      return { stdout: `docker=${behaviour.start}\nstate=${behaviour.start}\n`, code: ready ? 0 : 1 };
    }
    if (command.includes("docker logs")) return { stdout: behaviour.logs, code: inst?.container ? 0 : 66 };
    if (command.startsWith("docker rm -f")) {
      for (const [c, w] of world) if (w.container && command.includes(w.container.id)) world.delete(c);
      return {};
    }
    void options;
    return {};
  }

  function provisionRun(id: string) {
    if (behaviour.provision === "locked") return { code: 75, stdout: 'CLAWFLEET_RESULT {"status":"failed","reason":"lock-timeout"}\n' };
    if (behaviour.provision === "unhealthy") return { code: 1, stderr: "clawfleet: not healthy within 90s\n", stdout: 'CLAWFLEET_RESULT {"status":"failed","reason":"unhealthy","restored":true}\n' };
    const staged = (name: string) => String([...shell.uploads].reverse().find((u) => u.path.endsWith(`/${id}/.staged/${name}`))!.content);
    const compose = staged("docker-compose.yml");
    const token = /^OPENCLAW_GATEWAY_TOKEN=(.*)$/m.exec(staged(".env"))![1]!;
    const apiKey = /^ANTHROPIC_API_KEY=(.*)$/m.exec(staged(".env"))?.[1];
    const hash = /io\.clawfleet\.config-hash: "([0-9a-f]+)"/.exec(compose)![1]!;
    const image = /image: "([^"]+)"/.exec(compose)![1]!;
    const prev = world.get(id);
    world.set(id, { files: true, env: { token, apiKey }, container: { id: prev?.container?.id ?? "c".repeat(64), running: true, health: "healthy", image, hash } });
    return { stdout: `CLAWFLEET_RESULT {"status":"healthy","containerId":"${"c".repeat(12)}","changed":true}\n` };
  }

  return { store, clock, world, events, behaviour, shell, deps, host, plans, addInstance, sha };
}
