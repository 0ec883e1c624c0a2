import type { Deps, Connector } from "../../../../src/app/ports.js";
import type { Alert } from "../../../../src/app/alerts.js";
import type { FleetEvent } from "../../../../src/app/events.js";
import { portsForSlot } from "../../../../src/domain/ports.js";
import { RemoteCommandError } from "../../../../src/errors.js";
import { memoryStore } from "../../../fakes/memory-store.js";
import { manualClock, RecordingShell } from "../../../fakes/recording-shell.js";

/** What a fake host says about each of its containers. */
export interface FakeContainer {
  state?: string;
  http?: number;
}

/**
 * A fleet of fake hosts for health use-case tests: each host answers the batched sweep script
 * from its container table, and records restarts. `down` hosts refuse to connect.
 */
export async function healthFixture(layout: Record<string, string[]>) {
  const store = memoryStore();
  const clock = manualClock();
  const containers = new Map<string, FakeContainer>();
  const down = new Set<string>();
  const shells = new Map<string, RecordingShell>();
  const alerts: Alert[] = [];
  const events: FleetEvent[] = [];
  const breakNextExec = new Set<string>();
  const forgotten: string[] = [];
  for (const [host, customers] of Object.entries(layout)) {
    const h = await store.hosts.create({ name: host, address: "10.0.0.1", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:x", remoteRoot: "/opt/clawfleet", shared: true, capacityMb: null, dockerOk: true });
    for (const c of customers) {
      await store.instances.claim({ customerId: c, hostId: h.id, plan: "free", image: "img:1", dedicated: false, leaseOwner: "provision", leaseMs: 1000, now: clock.now() });
      await store.instances.update(c, { status: "healthy", leaseOwner: null, leaseUntil: null });
      containers.set(c, {});
    }
    shells.set(host, new RecordingShell(host, (command) => {
      if (breakNextExec.delete(host)) throw new RemoteCommandError(host, "exec", `SSH connection to ${host} was lost while a command ran`);
      if (command.includes("docker restart $ids")) {
        const id = /cf-([a-z0-9-]+)'/.exec(command)![1]!;
        restarts.push(id);
        return { code: 0 };
      }
      return { stdout: sweepOutput(command) };
    }));
  }
  const restarts: string[] = [];
  const sweepOutput = (command: string) => {
    const lines = ["V|2"];
    for (const m of command.matchAll(/'cf-([a-z0-9-]+)'/g)) {
      const id = m[1]!;
      const c = containers.get(id);
      if (!c || c.state === "missing") {
        lines.push(`Error: No such object: cf-${id}`);
        continue;
      }
      const row = store.rows.get(id)!;
      lines.push(`C|true|${id}|${c.state ?? "running"}|healthy|0|2026-11-24T00:00:00Z|0`);
      lines.push(`H|${c.http ?? 200}|0.002|http://127.0.0.1:${portsForSlot(row.portSlot!, 18800, 120).gateway}/healthz`);
    }
    return [...lines, "END|"].join("\n") + "\n";
  };
  const connector: Connector = {
    async shell(t) {
      if (down.has(t.name)) throw new RemoteCommandError(t.name, "connect", `cannot connect to ${t.name}: connection refused`);
      return shells.get(t.name)!;
    },
    probe: async () => { throw new Error("not used"); },
    forget: (n) => void forgotten.push(n),
    closeAll: async () => {},
  };
  const deps: Deps = { store, connector, clock, onEvent: (e) => events.push(e), actor: "test", env: {} };
  return { deps, store, clock, containers, down, shells, alerts, events, restarts, breakNextExec, forgotten, sink: { send: (a: Alert) => void alerts.push(a) } };
}
