import { HostKeyError } from "../../errors.js";
import { parseStoredSettings } from "../../domain/settings.js";
import { envViewCommand, parseEnvView, type EnvView } from "../../remote/commands/env-view.js";
import { CARRIED_KEYS } from "../../remote/commands/stage.js";
import type { PortSet } from "../../domain/ports.js";
import { tryDesired } from "../provision/desired.js";
import { connect, messageOf, mustGetInstance } from "../instance-lookup.js";
import { instanceStatus, type StatusResult } from "../lifecycle/status.js";
import { step } from "../events.js";
import type { Deps } from "../ports.js";

export interface SettingView {
  key: string;
  /** The effective value; null when neither set nor defaulted. */
  value: string | null;
  source: "set" | "default" | "unset";
  default: string | null;
  pattern: string | null;
  description: string | null;
}

export interface EnvVarView {
  key: string;
  /** Shown only for the plan's settable (non-secret) variables. */
  value: string | null;
  masked: boolean;
  /** For the token and API key: whether the host's value matches the DB's hash or fingerprint. */
  note?: string;
}

export interface ConfigShowResult {
  customerId: string;
  plan: string;
  host: string;
  status: string;
  image: string;
  ports: PortSet | null;
  subdomain: string | null;
  publicUrl: string | null;
  limits: { memory: string; cpus: number; pids: number; healthTimeoutSec: number } | null;
  config: StatusResult["config"];
  settings: SettingView[];
  env: { reachable: boolean; error?: string; file: "present" | "missing" | "unknown"; mode: string | null; vars: EnvVarView[] };
}

/** The effective settings: DB and plans, plus the .env's keys as the host holds them (secret values masked there). */
export async function configShow(deps: Deps, customerId: string, opts: { plansFile?: string } = {}): Promise<ConfigShowResult> {
  const { row, host } = await mustGetInstance(deps, customerId);
  const status = await instanceStatus(deps, row.customerId, opts);
  const { desired } = await tryDesired(deps, host, row, opts.plansFile);
  const spec = desired?.spec ?? null;
  const stored = parseStoredSettings(row.settings);
  const settings: SettingView[] = Object.entries(spec?.settable ?? {}).map(([key, v]) => {
    const value = desired?.settings[key] ?? null;
    const source = value === null ? "unset" : Object.hasOwn(stored, key) && stored[key] === value ? "set" : "default";
    return { key, value, source, default: v.default, pattern: v.pattern, description: v.description };
  });
  const shown = settings.map((s) => s.key);
  let env: ConfigShowResult["env"];
  try {
    const shell = await connect(deps, host, row.customerId);
    const view = await step(deps.onEvent, "inspect", { host: host.name, customerId: row.customerId, detail: (v: EnvView) => `.env ${v.file}` }, async () =>
      parseEnvView((await shell.exec(envViewCommand(host.remoteRoot, row.customerId, shown), { timeoutMs: 30_000 })).stdout, shown),
    );
    env = { reachable: true, file: view.file, mode: view.mode, vars: view.keys.map((key) => envVar(key, view, shown, row)) };
  } catch (err) {
    if (err instanceof HostKeyError) throw err;
    env = { reachable: false, error: messageOf(err), file: "unknown", mode: null, vars: [] };
  }
  return {
    customerId: row.customerId,
    plan: row.plan,
    host: host.name,
    status: row.status,
    image: row.image,
    ports: status.ports,
    subdomain: status.site?.subdomain ?? row.subdomain,
    publicUrl: status.site?.publicUrl ?? null,
    limits: spec && { memory: spec.memory, cpus: spec.cpus, pids: spec.pids, healthTimeoutSec: Math.round(spec.healthTimeoutMs / 1000) },
    config: status.config,
    settings,
    env,
  };
}

function envVar(key: string, view: EnvView, shown: string[], row: { tokenHash: string | null; apiKeyFingerprint: string | null }): EnvVarView {
  if (shown.includes(key) && !(CARRIED_KEYS as readonly string[]).includes(key)) return { key, value: view.values[key] ?? "", masked: false };
  if (key === "OPENCLAW_GATEWAY_TOKEN") {
    const note = !row.tokenHash ? "no hash recorded" : view.tokenSha256 === row.tokenHash ? "matches the recorded hash" : "does not match the recorded hash: run `clawfleet rotate-token`";
    return { key, value: null, masked: true, note };
  }
  if (key === "ANTHROPIC_API_KEY") {
    const fp = view.apiKeySha256 ? "sha256:" + view.apiKeySha256.slice(0, 16) : null;
    const note = !row.apiKeyFingerprint ? `fingerprint ${fp ?? "unknown"}; none recorded` : fp === row.apiKeyFingerprint ? `fingerprint ${fp}, as recorded` : `fingerprint ${fp ?? "unknown"} differs from the recorded ${row.apiKeyFingerprint}`;
    return { key, value: null, masked: true, note };
  }
  return { key, value: null, masked: true };
}

