import { InputError, NotFoundError } from "../../errors.js";
import type { EventFilter, EventRecord } from "../../store/types.js";
import type { Deps } from "../ports.js";
import { redactSecrets } from "./redact.js";

export interface EventQuery {
  customerId?: string;
  /** The host's own events and those of every instance it has carried. */
  host?: string;
  /** e.g. "health." or "instance.provision". */
  actionPrefix?: string;
  since?: Date;
  /** Default 50, at most 10,000. */
  limit?: number;
}

export interface AuditEvent {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  detail: string | null;
}

export const MAX_EVENTS = 10_000;

/** The audit log, newest first, with any secret-shaped text masked. */
export async function listEvents(deps: Deps, q: EventQuery = {}): Promise<AuditEvent[]> {
  const filter = await filterOf(deps, q);
  return (await deps.store.events.list(filter)).map(view);
}

export async function filterOf(deps: Deps, q: EventQuery): Promise<EventFilter> {
  const limit = q.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_EVENTS) throw new InputError(`--limit must be a whole number from 1 to ${MAX_EVENTS}, got ${limit}`, "for more, narrow the query with --since or --action");
  const targets = q.host ? await hostTargets(deps, q.host) : undefined;
  const scoped = q.customerId ? (targets ? targets.filter((t) => t === q.customerId) : [q.customerId]) : targets;
  return { targets: scoped, actionPrefix: q.actionPrefix, since: q.since, limit };
}

async function hostTargets(deps: Deps, name: string): Promise<string[]> {
  const host = await deps.store.hosts.get(name);
  if (!host) throw new NotFoundError(`no host named ${name}`, "see the registered hosts with `clawfleet hosts list`");
  const rows = await deps.store.instances.list({ hostId: host.id, includeDestroyed: true });
  return [name, ...rows.map((r) => r.customerId)];
}

export function view(e: EventRecord): AuditEvent {
  return { id: e.id, at: e.at.toISOString(), actor: e.actor, action: e.action, target: e.target, outcome: e.outcome, detail: e.detail ? redactSecrets(e.detail) : null };
}
