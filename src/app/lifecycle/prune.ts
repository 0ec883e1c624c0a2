import pLimit from "p-limit";
import { destroyInstance } from "./destroy.js";
import { audit } from "../audit/record.js";
import { messageOf } from "../instance-lookup.js";
import type { Deps } from "../ports.js";

/** What the webhook receives for each expired instance; same shape as the health alerts. Never a secret. */
export interface ExpiryAlert {
  kind: "expired";
  customerId: string;
  host: string | null;
  reason: string;
  /** ISO 8601. */
  at: string;
  attempts: 0;
}

export interface PruneOptions {
  /** List what would be destroyed; change nothing. */
  dryRun?: boolean;
  /** Announces each destroyed instance (e.g. a webhook POST). Failures are reported, never thrown. */
  announce?: (alert: ExpiryAlert) => void | Promise<void>;
}

export interface PruneEntry {
  customerId: string;
  plan: string;
  host: string;
  expiresAt: string;
  outcome: "would-destroy" | "destroyed" | "failed";
  error?: string;
  announced?: boolean;
}

export interface PruneResult {
  dryRun: boolean;
  at: string;
  expired: PruneEntry[];
  failed: number;
}

/**
 * Destroys instances whose expiresAt has passed (free plans get one at provision), data included.
 * Each is recorded as an Event and announced. The health daemon calls this daily.
 */
export async function prune(deps: Deps, opts: PruneOptions = {}): Promise<PruneResult> {
  const now = deps.clock.now();
  const [rows, hosts] = await Promise.all([deps.store.instances.list(), deps.store.hosts.list()]);
  const names = new Map(hosts.map((h) => [h.id, h.name]));
  const due = rows.filter((r) => r.expiresAt !== null && r.expiresAt <= now);
  const limit = pLimit(4);
  const expired = await Promise.all(
    due.map((r) =>
      limit(async (): Promise<PruneEntry> => {
        const entry = { customerId: r.customerId, plan: r.plan, host: names.get(r.hostId) ?? r.hostId, expiresAt: r.expiresAt!.toISOString() };
        if (opts.dryRun) return { ...entry, outcome: "would-destroy" };
        const reason = `expired at ${entry.expiresAt} (plan ${r.plan})`;
        try {
          await destroyInstance(deps, { customerId: r.customerId, force: true, reason });
        } catch (err) {
          await audit(deps, "instance.expire", r.customerId, "failed", messageOf(err).slice(0, 500));
          return { ...entry, outcome: "failed", error: messageOf(err).split("\n")[0] };
        }
        await audit(deps, "instance.expire", r.customerId, "ok", `${reason}; destroyed`);
        const announced = await announce(opts, { kind: "expired", customerId: r.customerId, host: entry.host, reason: `${reason}; destroyed with its data`, at: deps.clock.now().toISOString(), attempts: 0 });
        return { ...entry, outcome: "destroyed", announced };
      }),
    ),
  );
  return { dryRun: Boolean(opts.dryRun), at: now.toISOString(), expired, failed: expired.filter((e) => e.outcome === "failed").length };
}

async function announce(opts: PruneOptions, alert: ExpiryAlert): Promise<boolean | undefined> {
  if (!opts.announce) return undefined;
  try {
    await opts.announce(alert);
    return true;
  } catch {
    return false;
  }
}
