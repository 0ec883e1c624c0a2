import { describe, expect, it } from "vitest";
import { classifyEngine } from "../../../../src/app/reconcile/classify.js";
import type { LiveContainer } from "../../../../src/remote/commands/inspect.js";
import type { HostRecord, InstanceRecord } from "../../../../src/store/types.js";

const host = (name: string): HostRecord => ({ id: name, name, address: "127.0.1.1", port: 22, user: "u", identityFile: null, hostKey: "k", remoteRoot: `/srv/${name}`, shared: true, capacityMb: null, status: "active", dockerOk: true, createdAt: new Date() });
const row = (customerId: string, hostId: string, status = "healthy"): InstanceRecord =>
  ({ customerId, hostId, status, configHash: "h", plan: "free" }) as InstanceRecord;
const container = (customer: string, dir: string | null, over: Partial<LiveContainer> = {}): LiveContainer => ({
  id: customer.padEnd(64, "0"), name: `cf-${customer}`, image: "gw:1", state: "running", running: true, health: "healthy", failingStreak: 0,
  startedAt: null, finishedAt: null, exitCode: 0, restartCount: 0, ports: [],
  labels: { "io.clawfleet.managed": "true", "io.clawfleet.customer": customer, "io.clawfleet.config-hash": "h", ...(dir ? { "com.docker.compose.project": `cf-${customer}`, "com.docker.compose.project.working_dir": dir } : {}) },
  ...over,
});

describe("classifyEngine (hosts sharing one Docker engine, as in the sandbox)", () => {
  const a = host("a");
  const b = host("b");

  it("each host's instance claims its own container; none is an orphan", () => {
    const r = classifyEngine({ hosts: [a, b], containers: [container("one", "/srv/a/instances/one"), container("two", "/srv/b/instances/two")] }, [row("one", "a"), row("two", "b")]);
    expect(r).toEqual({ findings: [], inSync: ["one", "two"] });
  });

  it("a container under another host's dir does not satisfy the instance; it is an orphan of the engine", () => {
    const r = classifyEngine({ hosts: [a, b], containers: [container("one", "/srv/b/instances/one")] }, [row("one", "a")]);
    expect(r.findings.map((f) => [f.kind, f.hosts])).toEqual([["missing", ["a"]], ["orphan", ["a", "b"]]]);
  });

  it("a destroyed instance's leftover container is an orphan that says why", () => {
    const r = classifyEngine({ hosts: [a], containers: [container("old", "/srv/a/instances/old")] }, [row("old", "a", "destroyed")]);
    expect(r.findings[0]).toMatchObject({ kind: "orphan", detail: "instance old is destroyed and does not own this container; compose dir /srv/a/instances/old" });
  });

  it("provisioning and failed instances are neither missing nor in sync", () => {
    const r = classifyEngine({ hosts: [a], containers: [] }, [row("p", "a", "provisioning"), row("f", "a", "failed")]);
    expect(r).toEqual({ findings: [], inSync: [] });
  });
});
