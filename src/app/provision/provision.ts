import { z } from "zod";
import { ConflictError, InputError, RemoteCommandError } from "../../errors.js";
import { checkCustomerId, isTestId, TEST_ID_PREFIX } from "../../domain/ids.js";
import { apiKeyFingerprint, generateGatewayToken, sha256Hex } from "../../domain/secrets.js";
import { allHostPorts, portsForSlot, slotForPort, type PortSet } from "../../domain/ports.js";
import { instancePaths, listenersCommand, parsePrepare, prepareCommand } from "../../remote/commands/instance.js";
import { slotTaken } from "../../store/claim-rules.js";
import { EXIT_STAGE_FAILED, stageFilesStdin } from "../../remote/commands/stage-files.js";
import type { HostRecord, InstanceRecord } from "../../store/types.js";
import type { RemoteShell } from "../../remote/types.js";
import { targetOf } from "../hosts/hosts.js";
import { audit } from "../audit/record.js";
import { parseInput } from "../../domain/input.js";
import { step } from "../events.js";
import type { Deps } from "../ports.js";
import { loadPlansFor, getPlan, type Plans, type PlanSpec } from "../../domain/plans.js";
import { checkImageRef } from "../../domain/images.js";
import { chooseTarget } from "./target.js";
import { LEASE_POLICY } from "../coordination/leases/heartbeat.js";
import { keepLeaseAlive } from "../coordination/leases/instance.js";
import { isDeadLocalOwner } from "../coordination/leases/holder.js";
import { withRunSlot } from "../coordination/runs/gate.js";
import { describeHolder, makeOwner } from "../../store/lease-owner.js";
import { ENV_SAFE_RE } from "../../render/helpers.js";
import { effectiveSettings, type Settings } from "../../domain/settings.js";
import { ProvisionScriptError, renderFor, runProvisionScript, type Rendered } from "./remote.js";
import { generateSessionSecret } from "../../domain/secrets.js";
import { chooseSubdomain, siteUrls, type SitePlan } from "../ingress/site-plan.js";

const ProvisionInput = z.object({
  customerId: z.string(),
  plan: z.string(),
  host: z.string().optional(),
  image: z.string().optional(),
  /** The customer's Anthropic key. Library callers pass it here; the CLI reads --api-key-file or CLAWFLEET_API_KEY. */
  apiKey: z
    .string()
    .min(1)
    .regex(ENV_SAFE_RE, "the API key (from --api-key-file or CLAWFLEET_API_KEY) has characters a .env file cannot carry (allowed: A-Z a-z 0-9 _ . + / = : @ ~ , -)")
    .optional(),
  /** The public site's DNS label (needs `ingress:` in plans.yaml); defaults to the customer id. */
  subdomain: z.string().optional(),
  /** Pins the instance's slot: its gateway port, on the plan's slot grid (basePort + k×portStep). */
  port: z.int({ error: "--port: expected a whole port number" }).optional(),
  dryRun: z.boolean().default(false),
  plansFile: z.string().optional(),
  /** Repeating a call with the same key returns the first outcome (see README, "Idempotency keys"). */
  idempotencyKey: z.string().optional(),
});
export type ProvisionInput = z.input<typeof ProvisionInput>;

export interface ProvisionResult {
  customerId: string;
  plan: string;
  host: string;
  instanceId: string;
  status: string;
  /** Shown once: only its SHA-256 is kept. */
  gatewayToken: string;
  /** For operators: the gateway's loopback URL on the host, through `sshTunnel`. */
  url: string;
  sshTunnel: string;
  /** `https://<subdomain>.<domain>/`, or null without an `ingress:` section. */
  publicUrl: string | null;
  /** The one-time login link (`publicUrl?token=…`): it trades the token for a session cookie. Shown once. */
  loginUrl: string | null;
  ports: PortSet;
  durationMs: number;
  /** Milliseconds per step, plus the remote script's own time: what the client spent is the rest. */
  timings: Record<string, number>;
  changed: boolean;
  /** Compose CLI runs on the host (each Compose v1 run costs ~0.5 s of Python start-up). */
  composeRuns: number;
}

export interface DryRunResult {
  dryRun: true;
  customerId: string;
  plan: string;
  host: string;
  ports: PortSet;
  files: { path: string; mode: string; content: string }[];
  actions: string[];
}

const MAX_SLOT_MOVES = 20;

/** Creates (or resumes) one customer's instance end to end. */
export async function provision(outer: Deps, raw: ProvisionInput, internal: { testDeploy?: boolean } = {}): Promise<ProvisionResult | DryRunResult> {
  const started = Date.now();
  const timings: Record<string, number> = {};
  const deps: Deps = {
    ...outer,
    onEvent: (e) => {
      if (e.type === "step-done") timings[e.step] = (timings[e.step] ?? 0) + e.durationMs;
      outer.onEvent(e);
    },
  };
  const input = parseInput(ProvisionInput, raw);
  const customerId = checkCustomerId(input.customerId);
  if (isTestId(customerId) && !internal.testDeploy) {
    throw new InputError(`--customer-id: ids starting with ${TEST_ID_PREFIX} are reserved for \`clawfleet test-deploy\`, whose leftovers are removed automatically`, "choose another customer id");
  }
  const config = await loadPlansFor(deps, input.plansFile);
  const spec = getPlan(config, input.plan);
  const facts: PlanSpec = { ...spec, image: input.image ? checkImageRef(input.image) : spec.image };
  const subdomain = chooseSubdomain(config, customerId, input.subdomain);
  const target = await chooseTarget(deps, customerId, facts, input.host);
  const host = target.host;
  const site: SitePlan | null = subdomain && config.ingress ? { ingress: config.ingress, subdomain, sessionSecret: generateSessionSecret() } : null;
  const pinned = input.port === undefined ? undefined : slotForPort(input.port, config.basePort, config.portStep);
  if (pinned !== undefined) await assertSlotFree(deps, host, customerId, pinned, portsForSlot(pinned, config.basePort, config.portStep), { remote: !input.dryRun });
  if (input.dryRun) return dryRun(deps, config, facts, host, customerId, input.apiKey, site, pinned);
  // Render once before claiming, so bad input never leaves a row behind.
  const settings = effectiveSettings(facts, {});
  renderFor(facts, host, customerId, portsForSlot(0, config.basePort, config.portStep), "0".repeat(64), input.apiKey ?? null, site, settings);

  const leaseOwner = makeOwner("provision");
  const stale = target.resumes;
  // A provision whose process died on this machine is taken over at once; others lapse by TTL.
  const takeoverFrom = stale?.status === "provisioning" && isDeadLocalOwner(stale.leaseOwner) ? stale.leaseOwner! : undefined;
  if (takeoverFrom) deps.onEvent({ type: "warn", message: `resuming the provision of ${customerId} left by ${describeHolder(stale!, deps.clock.now())} (that process is gone)`, host: host.name, customerId, at: Date.now() });
  let row = await step(deps.onEvent, "place", { host: host.name, customerId, detail: (r) => `slot ${r.portSlot}, ${target.needMb} MB` }, () =>
    deps.store.instances.claim({
      customerId,
      hostId: host.id,
      plan: input.plan,
      image: facts.image,
      dedicated: facts.dedicatedHost,
      subdomain,
      leaseOwner,
      leaseMs: LEASE_POLICY.ttlMs,
      now: deps.clock.now(),
      needMb: target.needMb,
      capacityMb: target.capacityMb,
      takeoverFrom,
      slot: pinned,
    }),
  );
  // The claim is the instance's lease: renewed like every operation's while the provision runs.
  const stopHeartbeat = keepLeaseAlive(deps, { customerId, owner: leaseOwner, fence: row.leaseFence, until: row.leaseUntil!, row });
  const token = generateGatewayToken();
  try {
    return await withRunSlot(deps, host, customerId, "provision", async () => {
    const shell = await step(deps.onEvent, "connect", { host: host.name, customerId }, () => deps.connector.shell(targetOf(host)));
    const slotDeps = { config, facts, token, apiKey: input.apiKey, site, settings, pinned: pinned !== undefined };
    let prepared = await prepareSlot(deps, shell, host, row, slotDeps);
    row = prepared.row;
    let outcome = await startOnSlot(deps, shell, host, facts, prepared);
    // The port check is advisory: another process may bind a port before compose does. Move on and retry.
    if (pinned !== undefined && outcome instanceof RemoteCommandError && PORT_TAKEN.test(outcome.stderrTail)) {
      throw new ConflictError(`a port of slot ${pinned} (--port ${input.port}) was taken on ${host.name} while the instance started`, "free the port on the host, or choose another --port");
    }
    for (let moves = 1; outcome instanceof RemoteCommandError && PORT_TAKEN.test(outcome.stderrTail) && moves <= 3; moves++) {
      deps.onEvent({ type: "warn", message: `slot ${row.portSlot} was taken on the host during start; trying the next slot`, host: host.name, customerId, at: Date.now() });
      row = await deps.store.instances.reslot(customerId, [row.portSlot!]);
      // The failed run removed its staging dir: prepare again, which also re-checks the new slot.
      prepared = await prepareSlot(deps, shell, host, row, slotDeps);
      row = prepared.row;
      outcome = await startOnSlot(deps, shell, host, facts, prepared);
    }
    const { ports, rendered } = prepared;
    if (outcome instanceof Error) throw outcome;
    const done = await step(deps.onEvent, "record", { host: host.name, customerId }, () =>
      deps.store.instances.update(customerId, {
        status: "healthy",
        statusReason: null,
        configHash: rendered.configHash,
        tokenHash: sha256Hex(token),
        apiKeyFingerprint: input.apiKey ? apiKeyFingerprint(input.apiKey) : null,
        expiresAt: facts.expiresAfterMs ? new Date(deps.clock.now().getTime() + facts.expiresAfterMs) : null,
        consecutiveFailures: 0,
        containerLeft: false,
        // A revived row starts from the plan's defaults, not a destroyed instance's settings.
        settings: null,
        leaseOwner: null,
        leaseUntil: null,
        leaseSince: null,
      }),
    );
    await audit(deps, "instance.provision", customerId, "ok", `plan ${input.plan} on ${host.name}, slot ${done.portSlot}, image ${facts.image}${site ? `, site ${site.subdomain}.${site.ingress.domain}` : ""}`);
    return {
      customerId,
      plan: input.plan,
      host: host.name,
      instanceId: done.id,
      status: done.status,
      gatewayToken: token,
      ...loopbackAccess(host, ports),
      ...siteUrls(config.ingress, subdomain, token),
      ports,
      durationMs: Date.now() - started,
      timings: { ...timings, remoteScript: outcome.scriptMs },
      changed: outcome.changed,
      composeRuns: outcome.composeRuns,
    };
    });
  } catch (err) {
    await markFailed(deps, customerId, leaseOwner, err);
    throw err;
  } finally {
    stopHeartbeat();
  }
}

/** How an operator reaches the gateway: its loopback URL on the host, through an SSH tunnel. */
export function loopbackAccess(host: Pick<HostRecord, "port" | "user" | "address">, ports: PortSet): { url: string; sshTunnel: string } {
  return { url: `http://127.0.0.1:${ports.gateway}/`, sshTunnel: `ssh -N -L ${ports.gateway}:127.0.0.1:${ports.gateway} -p ${host.port} ${host.user}@${host.address}` };
}

const PORT_TAKEN = /port is already allocated|address already in use/i;

interface Prepared {
  row: InstanceRecord;
  ports: PortSet;
  /** The files for `row`'s slot. */
  rendered: Rendered;
  /** They are already in the staging dir (false when the port check moved the slot). */
  staged: boolean;
}

function startOnSlot(deps: Deps, shell: RemoteShell, host: HostRecord, facts: PlanSpec, p: Prepared) {
  return runProvisionScript(deps, shell, host, p.row.customerId, p.rendered, facts, { staged: p.staged }).catch((err: unknown) => {
    if (err instanceof Error) return err;
    throw err;
  });
}

/**
 * One round trip: makes the staging dir, writes the files rendered for the claimed slot into it, and
 * reads the host's listeners. Moves to the next slot while any of the slot's ports is taken by
 * someone else; `staged` is false then, and the files for the new slot still need uploading.
 */
interface SlotInputs {
  config: Plans;
  facts: PlanSpec;
  token: string;
  apiKey?: string;
  site: SitePlan | null;
  settings: Settings;
  /** `--port`: the slot never moves; a taken port is a conflict. */
  pinned: boolean;
}

async function prepareSlot(deps: Deps, shell: RemoteShell, host: HostRecord, row: InstanceRecord, { config, facts, token, apiKey, site, settings, pinned }: SlotInputs): Promise<Prepared> {
  const render = (r: InstanceRecord) => {
    const ports = portsForSlot(r.portSlot!, config.basePort, config.portStep);
    return { ports, rendered: renderFor(facts, host, r.customerId, ports, token, apiKey ?? null, site, settings) };
  };
  const first = render(row);
  const files = first.rendered.uploads;
  const res = await step(deps.onEvent, "prepare", { host: host.name, customerId: row.customerId, detail: () => `${files.length} files staged` }, () =>
    shell.exec(prepareCommand(host.remoteRoot, row.customerId, files), { timeoutMs: 30_000, stdin: stageFilesStdin(files) }),
  );
  if (res.code !== 0) {
    const what = res.code === EXIT_STAGE_FAILED ? `cannot write the instance files into ${instancePaths(host.remoteRoot, row.customerId).staged}` : `cannot create ${instancePaths(host.remoteRoot, row.customerId).dir}`;
    throw new RemoteCommandError(host.name, "prepare", `${what} on ${host.name}`, {
      exitCode: res.code,
      stderrTail: res.stderr.slice(-2000),
      hint: `make the remote root writable for ${host.user}: sudo mkdir -p ${host.remoteRoot} && sudo chown ${host.user} ${host.remoteRoot}`,
    });
  }
  const report = parsePrepare(res.stdout);
  if (report.ownContainer) return { row, ...first, staged: true };
  const skipped: number[] = [];
  for (let moves = 0; moves < MAX_SLOT_MOVES; moves++) {
    const ports = portsForSlot(row.portSlot!, config.basePort, config.portStep);
    const taken = allHostPorts(ports).filter((p) => report.listening.has(p));
    if (taken.length === 0) return moves === 0 ? { row, ...first, staged: true } : { row, ...render(row), staged: false };
    if (pinned) throw portInUse(host, row.portSlot!, taken[0]!);
    deps.onEvent({ type: "warn", message: `slot ${row.portSlot} is taken on the host (port ${taken[0]} in use); trying the next slot`, host: host.name, customerId: row.customerId, at: Date.now() });
    skipped.push(row.portSlot!);
    row = await deps.store.instances.reslot(row.customerId, skipped);
  }
  throw new ConflictError(`no free port slot found on ${host.name} after ${MAX_SLOT_MOVES} tries`, "free ports on the host or choose another host");
}

/**
 * `--port`: the pinned slot must be free in the DB and, unless `remote` is off (dry run), on the
 * host, before anything is claimed or written. The host check only reads its listeners.
 */
async function assertSlotFree(deps: Deps, host: HostRecord, customerId: string, slot: number, ports: PortSet, opts: { remote: boolean }): Promise<void> {
  const holder = (await deps.store.instances.list({ hostId: host.id })).find((i) => i.customerId !== customerId && i.portSlot === slot);
  if (holder) throw slotTaken(slot, holder.customerId);
  if (!opts.remote) return;
  const shell = await step(deps.onEvent, "connect", { host: host.name, customerId }, () => deps.connector.shell(targetOf(host)));
  const res = await shell.exec(listenersCommand(customerId), { timeoutMs: 30_000 });
  if (res.code !== 0) throw new RemoteCommandError(host.name, "prepare", `cannot read the listening ports on ${host.name}`, { exitCode: res.code, stderrTail: res.stderr.slice(-2000) });
  const report = parsePrepare(res.stdout);
  if (report.ownContainer) return;
  const taken = allHostPorts(ports).find((p) => report.listening.has(p));
  if (taken !== undefined) throw portInUse(host, slot, taken);
}

function portInUse(host: HostRecord, slot: number, port: number): ConflictError {
  return new ConflictError(`port ${port} of slot ${slot} is in use on host ${host.name}`, "free that port on the host, or choose another --port on the slot grid");
}

async function markFailed(deps: Deps, customerId: string, owner: string, err: unknown): Promise<void> {
  const reason = err instanceof Error ? err.message : String(err);
  const left = err instanceof ProvisionScriptError && err.containerLeft;
  const row = await deps.store.instances.get(customerId);
  // Only our own claim: another process may have taken the row over after our lease lapsed.
  if (row?.status === "provisioning" && row.leaseOwner === owner) {
    await deps.store.instances.update(customerId, {
      status: "failed",
      statusReason: (left ? `container left: ${reason}` : reason).slice(0, 500),
      containerLeft: left,
      leaseOwner: null,
      leaseUntil: null,
      leaseSince: null,
    });
  }
  await audit(deps, "instance.provision", customerId, "failed", reason.slice(0, 500));
}

function dryRun(deps: Deps, config: Plans, facts: PlanSpec, host: HostRecord, customerId: string, apiKey: string | undefined, site: SitePlan | null, pinned: number | undefined): Promise<DryRunResult> {
  return (async () => {
    const existing = await deps.store.instances.list({ hostId: host.id });
    const used = existing.filter((i) => i.customerId !== customerId && i.portSlot !== null).map((i) => i.portSlot!);
    const own = existing.find((i) => i.customerId === customerId)?.portSlot;
    let slot = pinned ?? own ?? 0;
    while (pinned === undefined && own == null && used.includes(slot)) slot++;
    const ports = portsForSlot(slot, config.basePort, config.portStep);
    // A fixed dummy token satisfies the renderer; the printed files show a placeholder instead.
    const dummy = "0".repeat(64);
    const dummySession = "f".repeat(64);
    const rendered: Rendered = renderFor(facts, host, customerId, ports, dummy, apiKey ? "REDACTED-customer-api-key" : null, site && { ...site, sessionSecret: dummySession }, effectiveSettings(facts, {}));
    const paths = instancePaths(host.remoteRoot, customerId);
    return {
      dryRun: true as const,
      customerId,
      plan: facts.name,
      host: host.name,
      ports,
      files: rendered.uploads.map((f) => ({ path: f.path, mode: "0" + f.mode.toString(8), content: String(f.content).replaceAll(dummy, "<generated at provision time, shown once>").replaceAll(dummySession, "<session secret, generated at provision time>") })),
      actions: [
        `connect to ${host.user}@${host.address}:${host.port} (host key ${host.hostKey})`,
        `claim slot ${slot} (ports ${ports.gateway}-${ports.cdpEnd}) and check those ports are free on the host`,
        `upload ${rendered.uploads.length} files atomically to ${paths.staged}`,
        `run ${paths.script}: flock, compose up -d --remove-orphans as cf-${customerId}, wait for health`,
        ...(site ? [`install the site https://${site.subdomain}.${site.ingress.domain}/ in the host's proxy (started if needed) and reload it gracefully`] : []),
        `record the instance (token hash only) and print the URL and token once`,
      ],
    };
  })();
}

