import { RemoteCommandError } from "../../errors.js";
import { loadPlansFor, type PlanSpec } from "../../domain/plans.js";
import { GATEWAY_TOKEN_RE, generateGatewayToken, sha256Hex } from "../../domain/secrets.js";
import { parseStage, stageCommand } from "../../remote/commands/stage.js";
import type { RemoteShell } from "../../remote/types.js";
import type { HostRecord, InstanceRecord } from "../../store/types.js";
import { ENV_SAFE_RE } from "../../render/helpers.js";
import { droppedSettings, parseStoredSettings, type Settings } from "../../domain/settings.js";
import { desiredFor } from "./desired.js";
import { step } from "../events.js";
import { inspectInstance, mainContainer } from "../instance-lookup.js";
import { renderFor, runProvisionScript } from "./remote.js";
import type { Deps } from "../ports.js";
import { siteForRerender } from "../ingress/site-plan.js";

export interface ReprovisionInput {
  row: InstanceRecord;
  host: HostRecord;
  plan: string;
  image: string;
  /** "keep" carries the host's token over; `{ fresh }` writes that new token instead. */
  token: "keep" | { fresh: string };
  /** Replaces the stored settings (config set); default: the row's. */
  settings?: Settings;
  /** Replaces the customer's API key (config set --api-key-file); default: the host's. */
  apiKey?: { fresh: string };
  plansFile?: string;
}

export interface ReprovisionOutcome {
  spec: PlanSpec;
  configHash: string;
  changed: boolean;
  containerId: string;
  /** Set when the token changed: a fresh one, or one re-made because the host's .env was gone. Shown once. */
  newToken: string | null;
  tokenHash: string;
  /** The settable variables the .env now holds. */
  settings: Settings;
  warnings: string[];
}

/**
 * Re-renders an instance's files (new plan, image or token) and runs provision.sh, which swaps them
 * in, waits for health, and restores the previous files and container when the new ones fail.
 * The customer's token and API key are carried over from the host's .env unless told otherwise.
 */
export async function reprovision(deps: Deps, shell: RemoteShell, input: ReprovisionInput): Promise<ReprovisionOutcome> {
  const { row, host } = input;
  const plans = await loadPlansFor(deps, input.plansFile);
  const stored = input.settings ?? parseStoredSettings(row.settings);
  const desired = desiredFor(plans, host, row, { plan: input.plan, image: input.image, settings: stored });
  const carried = await step(deps.onEvent, "stage", { host: host.name, customerId: row.customerId }, async () => {
    const res = await shell.exec(stageCommand(host.remoteRoot, row.customerId), { timeoutMs: 30_000 });
    if (res.code !== 0) throw new RemoteCommandError(host.name, "stage", `cannot stage files for ${row.customerId} on ${host.name}`, { exitCode: res.code, stderrTail: res.stderr.slice(-2000) });
    return parseStage(res.stdout);
  });
  const warnings: string[] = [];
  let token = input.token !== "keep" ? input.token.fresh : carried.gatewayToken && GATEWAY_TOKEN_RE.test(carried.gatewayToken) ? carried.gatewayToken : null;
  if (input.token === "keep" && !token) warnings.push(`the host has no usable gateway token for ${row.customerId} (.env ${carried.envPresent ? "lacks it" : "is missing"}); a new token was issued`);
  if (input.token === "keep" && token && row.tokenHash && sha256Hex(token) !== row.tokenHash) warnings.push(`the token on the host does not match the recorded hash; keeping the host's token and recording its hash`);
  token ??= generateGatewayToken();
  const hostKey = carried.apiKey && ENV_SAFE_RE.test(carried.apiKey) ? carried.apiKey : null;
  const apiKey = input.apiKey ? input.apiKey.fresh : hostKey;
  if (!input.apiKey && carried.apiKey && !hostKey) warnings.push("the API key in the host's .env has characters a .env cannot carry; it was dropped");
  if (!input.apiKey && !carried.envPresent && row.apiKeyFingerprint) warnings.push("the customer's API key was lost with the host's .env; provide it again with `clawfleet config set ID --api-key-file FILE`");
  const dropped = droppedSettings(desired.spec, stored);
  if (dropped.length > 0) warnings.push(`plan ${desired.spec.name} does not accept the stored ${dropped.join(", ")}: ${dropped.length === 1 ? "it falls" : "they fall"} back to the plan's default`);
  // A fresh token gets a fresh session secret too: old cookies and login links stop working at once.
  const site = await siteForRerender(deps, plans, row, { carried: carried.sessionSecret, fresh: token !== carried.gatewayToken }, (m) => warnings.push(m));
  for (const message of warnings) deps.onEvent({ type: "warn", message, host: host.name, customerId: row.customerId, at: Date.now() });
  const rendered = renderFor(desired.spec, host, row.customerId, desired.ports, token, apiKey, site, desired.settings);
  const outcome = await runProvisionScript(deps, shell, host, row.customerId, rendered, desired.spec);
  const fresh = token !== carried.gatewayToken;
  return { spec: desired.spec, configHash: rendered.configHash, changed: outcome.changed, containerId: outcome.containerId, newToken: fresh ? token : null, tokenHash: sha256Hex(token), settings: desired.settings, warnings };
}

export interface AfterFailure {
  running: boolean;
  health: string | null;
  image: string | null;
  configHash: string | null;
  restoredPrevious: boolean;
}

/** What runs after provision.sh failed: the restored previous version, or nothing. Never throws. */
export async function inspectAfterFailure(deps: Deps, shell: RemoteShell, host: HostRecord, row: InstanceRecord): Promise<AfterFailure> {
  try {
    const report = await inspectInstance(deps, shell, host, row.customerId);
    const c = mainContainer(report.containers);
    const hash = c?.labels["io.clawfleet.config-hash"] ?? null;
    return { running: Boolean(c?.running), health: c?.health ?? null, image: c?.image ?? null, configHash: hash, restoredPrevious: Boolean(c) && hash === row.configHash };
  } catch {
    return { running: false, health: null, image: null, configHash: null, restoredPrevious: false };
  }
}
