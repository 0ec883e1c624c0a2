import { loadPlansFor, getPlan, type Plans, type PlanSpec } from "../../domain/plans.js";
import { portsForSlot, type PortSet } from "../../domain/ports.js";
import type { HostRecord, InstanceRecord } from "../../store/types.js";
import { renderFor } from "./remote.js";
import type { Deps } from "../ports.js";
import { effectiveSettings, parseStoredSettings, type Settings } from "../../domain/settings.js";

/** The hash ignores secrets, so a placeholder token yields the real desired hash. */
const PLACEHOLDER_TOKEN = "0".repeat(64);

export interface Desired {
  spec: PlanSpec;
  ports: PortSet;
  /** The .env's settable variables: the stored values the plan accepts, else its defaults. */
  settings: Settings;
  configHash: string;
}

/** What the instance's files would be rendered as now, from the current plans and templates. */
export function desiredFor(plans: Plans, host: HostRecord, row: InstanceRecord, over: { plan?: string; image?: string; settings?: Settings } = {}): Desired {
  const base = getPlan(plans, over.plan ?? row.plan);
  const spec: PlanSpec = { ...base, image: over.image ?? row.image };
  if (row.portSlot === null) throw new Error(`instance ${row.customerId} holds no port slot`);
  const ports = portsForSlot(row.portSlot, plans.basePort, plans.portStep);
  const settings = effectiveSettings(spec, over.settings ?? parseStoredSettings(row.settings));
  const { configHash } = renderFor(spec, host, row.customerId, ports, PLACEHOLDER_TOKEN, null, null, settings);
  return { spec, ports, settings, configHash };
}

/** Like desiredFor, but null when the plans or templates cannot produce it (status still answers). */
export async function tryDesired(deps: Deps, host: HostRecord, row: InstanceRecord, plansFile?: string): Promise<{ desired: Desired | null; plans: Plans | null; problem?: string }> {
  let plans: Plans | null = null;
  try {
    plans = await loadPlansFor(deps, plansFile);
    return { desired: desiredFor(plans, host, row), plans };
  } catch (err) {
    return { desired: null, plans, problem: err instanceof Error ? err.message.split("\n")[0] : String(err) };
  }
}
