import type { InstanceHealth, SweepReport } from "../../app/health/types.js";
import type { Connector } from "../../app/ports.js";
import { HostKeyError } from "../../errors.js";
import type { RemoteShell } from "../../remote/types.js";
import type { Metrics, SshErrorKind } from "./registry.js";

/** Counts one finished sweep: its result, duration, checks and restarts. */
export function observeSweep(m: Metrics, r: SweepReport, endedAtMs: number): void {
  m.sweeps.inc({ result: r.ok ? "ok" : "attention" });
  m.sweepDuration.observe(r.durationMs / 1000);
  m.lastSuccess.set(endedAtMs / 1000);
  for (const i of r.instances) {
    m.checks.inc({ result: i.status });
    if (i.action === "restarted" || i.action === "restart-failed") m.restarts.inc({ reason: restartReason(i) });
  }
}

export function restartReason(i: InstanceHealth): "healthz" | "exited" | "missing" {
  if (!i.container) return "missing";
  return i.container.state === "running" ? "healthz" : "exited";
}

/** What kind of SSH failure an error is, for clawfleet_ssh_errors_total. */
export function sshErrorKind(err: unknown): SshErrorKind {
  if (err instanceof HostKeyError) return "hostkey";
  const msg = err instanceof Error ? err.message : String(err);
  if (/authentication failed/i.test(msg)) return "auth";
  if (/timed out|no SSH handshake within/i.test(msg)) return "timeout";
  return "connect";
}

/** The connector with every connect failure counted and every exec timed. */
export function instrumentConnector(c: Connector, m: Metrics): Connector {
  return {
    ...c,
    shell: async (target) => {
      try {
        return instrumentShell(await c.shell(target), m);
      } catch (err) {
        m.sshErrors.inc({ kind: sshErrorKind(err) });
        throw err;
      }
    },
    forget: (n) => c.forget(n),
    closeAll: () => c.closeAll(),
    probe: (t, o) => c.probe(t, o),
  };
}

function instrumentShell(shell: RemoteShell, m: Metrics): RemoteShell {
  return {
    hostName: shell.hostName,
    async exec(command, opts) {
      const end = m.remoteCommand.startTimer();
      try {
        const res = await shell.exec(command, opts);
        if (res.timedOut) m.sshErrors.inc({ kind: "timeout" });
        return res;
      } finally {
        end();
      }
    },
    upload: (files) => shell.upload(files),
    ...(shell.warmSftp ? { warmSftp: () => shell.warmSftp!() } : {}),
    ...(shell.transfer ? { transfer: () => shell.transfer!() } : {}),
  };
}
