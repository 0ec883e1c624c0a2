import { describe, expect, it } from "vitest";
import type { SweepReport } from "../../../../src/app/health/types.js";
import type { FleetSnapshot } from "../../../../src/app/metrics/fleet.js";
import { HostKeyError, RemoteCommandError } from "../../../../src/errors.js";
import { instrumentConnector, observeSweep, sshErrorKind } from "../../../../src/daemon/metrics/instrument.js";
import { createMetrics } from "../../../../src/daemon/metrics/registry.js";
import { parseListen, serveMetrics } from "../../../../src/daemon/metrics/server.js";

const snapshot: FleetSnapshot = { instances: [{ status: "healthy", plan: "free", count: 2 }, { status: "quarantined", plan: "pro", count: 1 }], hosts: { active: 2, down: 1, drained: 0 }, quarantined: 1, backupsOverdue: 3, oldestLastBackupAgeSec: 7200 };
const metrics = () => createMetrics({ version: "9.9.9", plans: ["free", "pro"], snapshot: async () => snapshot });
const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}.\\[\]"+]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);

const inst = (customerId: string, status: "healthy" | "unhealthy" | "unknown", action = "none", container: { state: string } | null = { state: "running" }) =>
  ({ customerId, host: "h", status, reason: null, latencyMs: null, container: container && { ...container, dockerHealth: "none", restartCount: 0, startedAt: "" }, action, note: null, instanceStatus: "healthy", consecutiveFailures: 0, restarts: 0 }) as SweepReport["instances"][number];

describe("daemon metrics", () => {
  it("start every known label set at 0, with the build info", async () => {
    const text = await metrics().registry.metrics();
    expect(value(text, 'clawfleet_build_info{version="9.9.9"}')).toBe(1);
    for (const k of ["connect", "auth", "hostkey", "timeout"]) expect(value(text, `clawfleet_ssh_errors_total{kind="${k}"}`)).toBe(0);
    expect(value(text, 'clawfleet_alerts_total{kind="quarantine",result="failed"}')).toBe(0);
    expect(value(text, 'clawfleet_restarts_total{reason="missing"}')).toBe(0);
    expect(value(text, 'clawfleet_sweeps_total{result="error"}')).toBe(0);
    expect(value(text, 'clawfleet_instances{status="stopped",plan="pro"}')).toBe(0);
    expect(text).toMatch(/^process_resident_memory_bytes /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);
  });

  it("count a sweep's result, checks and restarts by bounded reason, never naming a customer", async () => {
    const m = metrics();
    const report = { ok: false, durationMs: 1500, instances: [inst("acme", "healthy"), inst("globex", "unhealthy", "restarted"), inst("initech", "unhealthy", "restarted", null), inst("umbrella", "unknown")] } as SweepReport;
    observeSweep(m, report, 1_700_000_000_000);
    await m.refresh();
    const text = await m.registry.metrics();
    expect(value(text, 'clawfleet_sweeps_total{result="attention"}')).toBe(1);
    expect(value(text, "clawfleet_sweep_duration_seconds_sum")).toBe(1.5);
    expect(value(text, "clawfleet_last_sweep_success_timestamp_seconds")).toBe(1_700_000_000);
    expect(value(text, 'clawfleet_health_checks_total{result="unhealthy"}')).toBe(2);
    expect(value(text, 'clawfleet_restarts_total{reason="healthz"}')).toBe(1);
    expect(value(text, 'clawfleet_restarts_total{reason="missing"}')).toBe(1);
    expect(value(text, 'clawfleet_instances{status="healthy",plan="free"}')).toBe(2);
    expect(value(text, 'clawfleet_hosts{status="down"}')).toBe(1);
    expect(value(text, "clawfleet_quarantined")).toBe(1);
    expect(value(text, "clawfleet_backups_overdue")).toBe(3);
    expect(value(text, "clawfleet_backup_oldest_last_success_age_seconds")).toBe(7200);
    for (const c of ["acme", "globex", "initech", "umbrella"]) expect(text).not.toContain(c);
  });

  it("classify SSH failures and time every remote command through the connector", async () => {
    expect(sshErrorKind(new HostKeyError("h", "mismatch"))).toBe("hostkey");
    expect(sshErrorKind(new RemoteCommandError("h", "connect", "authentication failed for ops@10.0.0.1 (h)"))).toBe("auth");
    expect(sshErrorKind(new RemoteCommandError("h", "connect", "cannot reach h at 10.0.0.1:22: no SSH handshake within 10s"))).toBe("timeout");
    expect(sshErrorKind(new RemoteCommandError("h", "connect", "cannot reach h at 10.0.0.1:22: connection refused"))).toBe("connect");
    const m = metrics();
    let fail = true;
    const shell = { hostName: "h", exec: async () => ({ code: 0, stdout: "", stderr: "", timedOut: true }), upload: async () => {} };
    const c = instrumentConnector({ shell: async () => (fail ? Promise.reject(new HostKeyError("h", "x")) : shell), probe: async () => { throw new Error("no"); }, forget: () => {}, closeAll: async () => {} } as never, m);
    await expect(c.shell({} as never)).rejects.toBeInstanceOf(HostKeyError);
    fail = false;
    await (await c.shell({} as never)).exec("true");
    const text = await m.registry.metrics();
    expect(value(text, 'clawfleet_ssh_errors_total{kind="hostkey"}')).toBe(1);
    expect(value(text, 'clawfleet_ssh_errors_total{kind="timeout"}')).toBe(1);
    expect(value(text, "clawfleet_remote_command_duration_seconds_count")).toBe(1);
  });

  it("parse the listen address: a bare port is loopback only; bad values are refused", () => {
    expect(parseListen("9464")).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(parseListen("0.0.0.0:9464")).toEqual({ host: "0.0.0.0", port: 9464 });
    expect(parseListen("[::1]:9464")).toEqual({ host: "::1", port: 9464 });
    for (const bad of ["", "x", "1:2:3", "99999", "host:"]) expect(() => parseListen(bad)).toThrow(/--metrics-listen/);
  });

  it("serve /metrics, /healthz by the health callback, 404 elsewhere, and refuse a port in use", async () => {
    let ok = false;
    const m = metrics();
    const s = await serveMetrics(m, "127.0.0.1:0", () => ({ ok, lastSweepAt: null, ageSeconds: null, maxAgeSeconds: 30 }));
    try {
      const get = (p: string) => fetch(`http://${s.address}${p}`);
      expect((await get("/healthz")).status).toBe(503);
      ok = true;
      expect((await get("/healthz")).status).toBe(200);
      const res = await get("/metrics");
      expect(res.headers.get("content-type")).toContain("text/plain");
      expect(await res.text()).toContain("clawfleet_sweeps_total");
      expect((await get("/other")).status).toBe(404);
      await expect(serveMetrics(m, s.address, () => ({ ok, lastSweepAt: null, ageSeconds: null, maxAgeSeconds: 30 }))).rejects.toThrow(/already in use/);
    } finally {
      await s.close();
    }
  });
});
