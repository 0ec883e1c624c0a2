import { InputError } from "../../errors.js";
import { loadPlansFor, getPlan } from "../../domain/plans.js";
import { apiKeyFingerprint } from "../../domain/secrets.js";
import { checkChanges, keptSettings, parseStoredSettings, storeSettings, type Settings } from "../../domain/settings.js";
import { ENV_SAFE_RE } from "../../render/helpers.js";
import type { HostRecord, InstanceRecord } from "../../store/types.js";
import { desiredFor } from "../provision/desired.js";
import { audit } from "../audit/record.js";
import { connect, mustGetInstance } from "../instance-lookup.js";
import { withInstanceLease } from "../coordination/leases/instance.js";
import { reprovision } from "../provision/reprovision.js";
import { withRunSlot } from "../coordination/runs/gate.js";
import { UPGRADABLE, assertUpgradable, recordRollback } from "../lifecycle/upgrade.js";
import type { Deps } from "../ports.js";

export interface ConfigSetInput {
  customerId: string;
  /** Settable variables (plans.yaml `settable:`) and their new values. */
  set?: Settings;
  /** Replaces the customer's API key. Secret: the CLI reads it from --api-key-file or stdin, never argv. */
  apiKey?: string;
  /** Show the change; touch nothing. */
  dryRun?: boolean;
  plansFile?: string;
}

export interface SettingChange {
  key: string;
  /** Non-secret values; for ANTHROPIC_API_KEY the fingerprints. */
  from: string | null;
  to: string;
}

export interface ConfigSetResult {
  customerId: string;
  host: string;
  action: "updated" | "none" | "dry-run";
  /** Only what differs from the instance's current settings. */
  changes: SettingChange[];
  configHash: { from: string | null; to: string };
  durationMs: number;
  warnings: string[];
}

/**
 * Changes an instance's settable variables and/or API key: re-renders its files, swaps them in
 * atomically and restarts it through provision.sh, which waits for health and puts the previous
 * files and container back when the instance does not come up healthy. The DB follows only a
 * healthy result; the Event names keys, never values.
 */
export async function configSet(deps: Deps, input: ConfigSetInput): Promise<ConfigSetResult> {
  const started = Date.now();
  const { row, host } = await mustGetInstance(deps, input.customerId);
  const plans = await loadPlansFor(deps, input.plansFile);
  const spec = getPlan(plans, row.plan, "plan");
  const changes = checkChanges(spec, input.set ?? {});
  if (input.apiKey !== undefined && (!input.apiKey || !ENV_SAFE_RE.test(input.apiKey))) {
    throw new InputError("the API key has characters a .env file cannot carry, or is empty (allowed: A-Z a-z 0-9 _ . + / = : @ ~ , -)", "write only the key into the file");
  }
  if (Object.keys(changes).length === 0 && input.apiKey === undefined) {
    throw new InputError("config set: nothing to set", `give KEY=VALUE pairs or --api-key-file FILE; ${Object.keys(spec.settable).length ? `settable in plan ${spec.name}: ${Object.keys(spec.settable).join(", ")}` : `plan ${spec.name} declares no settable variables`}`);
  }
  const stored = parseStoredSettings(row.settings);
  const before = desiredFor(plans, host, row);
  const next = keptSettings(spec, { ...stored, ...changes });
  const after = desiredFor(plans, host, row, { settings: next });
  const diff: SettingChange[] = Object.entries(changes)
    .filter(([key, value]) => before.settings[key] !== value)
    .map(([key, to]) => ({ key, from: before.settings[key] ?? null, to }));
  const newFingerprint = input.apiKey !== undefined ? apiKeyFingerprint(input.apiKey) : null;
  if (newFingerprint && newFingerprint !== row.apiKeyFingerprint) diff.push({ key: "ANTHROPIC_API_KEY", from: row.apiKeyFingerprint, to: newFingerprint });
  const base = { customerId: row.customerId, host: host.name, changes: diff, configHash: { from: row.configHash, to: after.configHash } };
  if (input.dryRun) return { ...base, action: "dry-run", durationMs: Date.now() - started, warnings: [] };
  // The same values again change nothing, unless the DB already says the files are out of date.
  if (diff.length === 0 && after.configHash === row.configHash && storeSettings(next) === (row.settings ?? null)) {
    return { ...base, action: "none", durationMs: Date.now() - started, warnings: [] };
  }
  assertUpgradable(row, "config set");
  const apply = () => applyLeased(deps, row, host, next, input, diff, newFingerprint);
  const out = await withInstanceLease(deps, row, "config-set", () => withRunSlot(deps, host, row.customerId, "config-set", apply), UPGRADABLE);
  return { ...base, configHash: { from: row.configHash, to: out.configHash }, action: "updated", durationMs: Date.now() - started, warnings: out.warnings };
}

async function applyLeased(deps: Deps, row: InstanceRecord, host: HostRecord, next: Settings, input: ConfigSetInput, diff: SettingChange[], fingerprint: string | null) {
  const shell = await connect(deps, host, row.customerId);
  const keys = diff.map((c) => c.key).join(", ") || "the same values (files re-rendered)";
  try {
    const out = await reprovision(deps, shell, {
      row,
      host,
      plan: row.plan,
      image: row.image,
      token: "keep",
      settings: next,
      ...(input.apiKey !== undefined ? { apiKey: { fresh: input.apiKey } } : {}),
      plansFile: input.plansFile,
    });
    await deps.store.instances.update(row.customerId, {
      settings: storeSettings(next),
      configHash: out.configHash,
      tokenHash: out.tokenHash,
      ...(fingerprint ? { apiKeyFingerprint: fingerprint } : {}),
      status: "healthy",
      statusReason: null,
      consecutiveFailures: 0,
    });
    await audit(deps, "instance.config-set", row.customerId, "ok", `set ${keys}${out.newToken ? "; a new token was issued" : ""}`);
    return out;
  } catch (err) {
    throw await recordRollback(deps, shell, host, row, "config-set", `set ${keys}`, err, `clawfleet config set ${row.customerId} …`);
  }
}
