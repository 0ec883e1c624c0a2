import type { Observation } from "./health-policy.js";

/** The facts one sweep gathered for an instance (see src/remote/commands/health.ts). */
export interface InstanceFacts {
  container?: { managed: boolean; state: string; dockerHealth: string; exitCode: number };
  /** Docker said the container does not exist. */
  missing: boolean;
  probe?: { code: number; via: string; latencyMs: number | null };
  dockerError: string | null;
  noProbeTool: boolean;
  complete: boolean;
}

/**
 * Healthy, unhealthy with a reason, or unknown. Unknown is for when the host could not tell us
 * (Docker not answering, output cut short): it must never lead to a restart.
 */
export function classify(containerName: string, port: number, f: InstanceFacts): Observation {
  const c = f.container;
  if (!c) {
    if (f.missing) return { kind: "unhealthy", reason: `container ${containerName} does not exist` };
    if (f.dockerError) return { kind: "unknown", reason: `docker: ${f.dockerError}` };
    return { kind: "unknown", reason: f.complete ? "docker did not report the container" : "the sweep output was cut short" };
  }
  if (!c.managed) return { kind: "unhealthy", reason: `container ${containerName} is not labelled io.clawfleet.managed=true` };
  if (c.state !== "running") {
    const exit = c.state === "exited" || c.state === "dead" ? ` (exit code ${c.exitCode})` : "";
    return { kind: "unhealthy", reason: `container is ${c.state}${exit}` };
  }
  if (!f.probe) {
    if (f.noProbeTool) return fromDockerHealth(c.dockerHealth);
    return { kind: "unknown", reason: f.complete ? "no /healthz result" : "the sweep output was cut short" };
  }
  if (f.probe.code === 200) return { kind: "healthy" };
  const docker = c.dockerHealth === "none" ? "" : ` (docker health: ${c.dockerHealth})`;
  if (f.probe.code === 0) return { kind: "unhealthy", reason: `no answer from /healthz on 127.0.0.1:${port}${docker}` };
  const status = f.probe.via === "wget" ? "an HTTP error" : String(f.probe.code);
  return { kind: "unhealthy", reason: `/healthz returned ${status}${docker}` };
}

/** Without an HTTP client on the host, Docker's own healthcheck is the best evidence there is. */
function fromDockerHealth(health: string): Observation {
  if (health === "healthy") return { kind: "healthy" };
  if (health === "unhealthy") return { kind: "unhealthy", reason: "docker health: unhealthy (no curl, wget or bash on the host to probe /healthz)" };
  return { kind: "unknown", reason: `docker health: ${health}; no curl, wget or bash on the host to probe /healthz` };
}
