import type { InstanceStatus } from "../../store/types.js";
import { mustGetHost } from "../hosts/hosts.js";
import type { Deps } from "../ports.js";

export interface ListInput {
  host?: string;
  plan?: string;
  /** Include destroyed rows (kept for audit). */
  all?: boolean;
}

export interface InstanceSummary {
  customerId: string;
  plan: string;
  host: string;
  status: InstanceStatus;
  /** From the last health sweep: "ok", "failing(n)", or "unknown" before the first sweep. */
  health: string;
  lastHealthAt: string | null;
  createdAt: string;
  ageSec: number;
  image: string;
  portSlot: number | null;
  expiresAt: string | null;
}

/** Instances as the DB knows them; no host is contacted. */
export async function listInstances(deps: Deps, input: ListInput = {}): Promise<InstanceSummary[]> {
  const hostId = input.host ? (await mustGetHost(deps, input.host)).id : undefined;
  const [rows, hosts] = await Promise.all([
    deps.store.instances.list({ hostId, plan: input.plan, includeDestroyed: input.all }),
    deps.store.hosts.list(),
  ]);
  const names = new Map(hosts.map((h) => [h.id, h.name]));
  const now = deps.clock.now().getTime();
  return rows.map((r) => ({
    customerId: r.customerId,
    plan: r.plan,
    host: names.get(r.hostId) ?? r.hostId,
    status: r.status,
    health: r.consecutiveFailures > 0 ? `failing(${r.consecutiveFailures})` : r.lastHealthAt ? "ok" : "unknown",
    lastHealthAt: r.lastHealthAt?.toISOString() ?? null,
    createdAt: r.createdAt.toISOString(),
    ageSec: Math.max(0, Math.round((now - r.createdAt.getTime()) / 1000)),
    image: r.image,
    portSlot: r.portSlot,
    expiresAt: r.expiresAt?.toISOString() ?? null,
  }));
}
