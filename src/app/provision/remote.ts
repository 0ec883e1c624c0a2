import { ConflictError, RemoteCommandError } from "../../errors.js";
import type { PlanSpec } from "../../domain/plans.js";
import type { PortSet } from "../../domain/ports.js";
import type { Settings } from "../../domain/settings.js";
import { renderInstance } from "../../render/index.js";
import { cleanupStagedCommand, instancePaths, parseResultLine, runProvisionCommand } from "../../remote/commands/instance.js";
import type { RemoteShell, UploadFile } from "../../remote/types.js";
import type { HostRecord } from "../../store/types.js";
import { step } from "../events.js";
import type { Deps } from "../ports.js";
import { provisionIngressView, siteUploads, type SitePlan } from "../ingress/site-plan.js";

/** provision.sh failed; `restored` says it brought the previous version back and saw it ready. */
export class ProvisionScriptError extends RemoteCommandError {
  readonly restored: boolean;
  /** A fresh install's container could not be removed after the failure. */
  readonly containerLeft: boolean;
  constructor(host: string, message: string, details: ConstructorParameters<typeof RemoteCommandError>[3] & { restored: boolean; containerLeft?: boolean }) {
    super(host, "start", message, details);
    this.restored = details.restored;
    this.containerLeft = details.containerLeft ?? false;
  }
}

export interface Rendered {
  configHash: string;
  uploads: UploadFile[];
}

/** provision.sh exits 75 when another run holds the instance's lock. */
const EXIT_LOCKED = 75;
/** provision.sh reasons that concern the proxy, not the gateway's health. */
const INGRESS_FAILURES = new Set(["ingress-port-taken", "site-failed"]);
/** dockerd's answer when every default address pool is in use by a network. */
const POOLS_EXHAUSTED = /could not find an available, non-overlapping IPv4 address pool/;
/** Headroom beyond the plan's health timeout for pulls, a Docker install and the log tail. */
const SCRIPT_GRACE_MS = 10 * 60_000;

/** The instance's files; with `site`, also its site file and the host's proxy files. */
export function renderFor(spec: PlanSpec, host: HostRecord, customerId: string, ports: PortSet, token: string, apiKey: string | null, site: SitePlan | null = null, settings: Settings = {}): Rendered {
  const paths = instancePaths(host.remoteRoot, customerId);
  const out = renderInstance({
    customerId,
    plan: spec.name,
    planSpec: spec,
    image: spec.image,
    ports,
    gatewayToken: token,
    apiKey,
    instanceDir: paths.dir,
    remoteRoot: host.remoteRoot,
    ingress: site ? provisionIngressView(site, host) : null,
    settings,
  });
  return {
    configHash: out.configHash,
    uploads: [
      { path: `${paths.staged}/docker-compose.yml`, content: out.files.compose, mode: 0o644 },
      { path: `${paths.staged}/.env`, content: out.files.env, mode: 0o600 },
      { path: `${paths.staged}/provision.sh`, content: out.files.provisionSh, mode: 0o700 },
      ...(site ? siteUploads(site, host, customerId, ports.gateway, token, paths.staged) : []),
    ],
  };
}

/**
 * Uploads the files into the staging dir (unless `staged`: provision's prepare step wrote them
 * already) and runs provision.sh; returns whether anything changed on the host.
 */
export async function runProvisionScript(deps: Deps, shell: RemoteShell, host: HostRecord, customerId: string, rendered: Rendered, spec: PlanSpec, opts: { staged?: boolean } = {}) {
  const ctx = { host: host.name, customerId };
  if (!opts.staged) await step(deps.onEvent, "upload", { ...ctx, detail: () => `${rendered.uploads.length} files` }, () => shell.upload(rendered.uploads));
  const res = await step(deps.onEvent, "start", ctx, () =>
    shell.exec(runProvisionCommand(host.remoteRoot, customerId), {
      timeoutMs: spec.healthTimeoutMs + SCRIPT_GRACE_MS,
      // provision.sh logs to stderr (redacted; never .env) and keeps stdout for the result line.
      onStderr: lineEmitter((line) => deps.onEvent({ type: "remote-line", host: host.name, stream: "stderr", line, at: Date.now() })),
    }),
  );
  const result = parseResultLine(res.stdout);
  if (res.code === 0 && result?.status === "healthy") {
    deps.onEvent({ type: "step-done", step: "healthy", ...ctx, at: Date.now(), durationMs: 0, detail: String(result.containerId ?? "").slice(0, 12) });
    return { changed: result.changed !== false, containerId: String(result.containerId ?? ""), scriptMs: Number(result.durationMs ?? 0), composeRuns: Number(result.composeRuns ?? 0) };
  }
  await shell.exec(cleanupStagedCommand(host.remoteRoot, customerId), { timeoutMs: 15_000 }).catch(() => undefined);
  if (res.code === EXIT_LOCKED) {
    throw new ConflictError(`instance ${customerId} is locked on ${host.name} by another provision`, "wait for it to finish, then run the command again");
  }
  const code = typeof result?.reason === "string" ? result.reason : null;
  const reason = typeof result?.message === "string" && result.message ? result.message : code ?? (res.timedOut ? "provision.sh timed out" : `provision.sh exited ${res.code}`);
  const what = code && INGRESS_FAILURES.has(code) ? `cannot serve ${customerId} on ${host.name}` : `instance ${customerId} did not become healthy on ${host.name}`;
  throw new ProvisionScriptError(host.name, `${what}: ${reason}`, {
    restored: result?.restored === true,
    containerLeft: result?.containerLeft === true,
    exitCode: res.code,
    // The script's failure report: its log lines plus the container's 50-line log tail.
    stderrTail: tail(res.stderr, 80),
    hint: POOLS_EXHAUSTED.test(res.stderr)
      ? `Docker on ${host.name} has no address pool left for the instance's network (its defaults hold about 30 networks): add "default-address-pools": [{ "base": "10.128.0.0/12", "size": 24 }] to /etc/docker/daemon.json, restart dockerd, then run the same provision again`
      : `the log tail is above; fix the cause and run the same provision again to resume`,
  });
}

function lineEmitter(emit: (line: string) => void): (chunk: string) => void {
  let buf = "";
  return (chunk) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      emit(line);
    }
  };
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
