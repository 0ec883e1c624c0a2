import { apiKeyFingerprint } from "../../../domain/secrets.js";
import { portsForSlot } from "../../../domain/ports.js";
import { ConflictError, NotFoundError } from "../../../errors.js";
import type { InstanceRecord } from "../../../store/types.js";
import { loadPlansFor } from "../../../domain/plans.js";
import { siteUrls } from "../../ingress/site-plan.js";
import { LIVE_STATUSES } from "../leases/instance.js";
import { destroyInstance, type DestroyInput, type DestroyResult } from "../../lifecycle/destroy.js";
import type { Deps } from "../../ports.js";
import { loopbackAccess, provision, type DryRunResult, type ProvisionInput, type ProvisionResult } from "../../provision/provision.js";
import { rotateToken, type RotateTokenResult } from "../../lifecycle/rotate-token.js";
import { upgradeInstance, type UpgradeInput, type UpgradeResult } from "../../lifecycle/upgrade.js";
import { onceByKey } from "./keys.js";

/** Set on a reply that repeats an earlier call's outcome instead of doing the work again. */
export interface Replayed {
  replayed?: true;
  /**
   * Tokens are never stored, so a replayed provision or rotate-token cannot repeat the first
   * token: it rotates once more and returns the fresh one. The first reply's token stops working.
   */
  tokenReissued?: true;
}

type KeptProvision = Omit<ProvisionResult, "gatewayToken" | "loginUrl">;

export async function provisionOnce(deps: Deps, input: ProvisionInput): Promise<(ProvisionResult & Replayed) | DryRunResult> {
  if (!input.idempotencyKey || input.dryRun) return provision(deps, input);
  const { idempotencyKey: key, apiKey, ...rest } = input;
  const reissue = async (kept: KeptProvision): Promise<ProvisionResult & Replayed> => {
    const fresh = await rotateToken(deps, kept.customerId, { plansFile: input.plansFile });
    const loginUrl = kept.publicUrl ? `${kept.publicUrl}?token=${fresh.gatewayToken}` : null;
    return { ...kept, gatewayToken: fresh.gatewayToken, loginUrl, replayed: true, tokenReissued: true };
  };
  return onceByKey<ProvisionResult & Replayed, KeptProvision>(deps, {
    key,
    operation: "provision",
    customerId: input.customerId,
    request: { ...rest, apiKey: apiKey ? apiKeyFingerprint(apiKey) : null },
    run: () => provision(deps, input) as Promise<ProvisionResult>,
    keep: ({ gatewayToken: _t, loginUrl: _l, replayed: _r, tokenReissued: _i, ...kept }) => kept,
    replay: reissue,
    // The first try finished the instance but died before recording the key's outcome.
    recover: async (err) => {
      if (!(err instanceof ConflictError)) return null;
      const row = await deps.store.instances.get(input.customerId);
      if (!row || !LIVE_STATUSES.includes(row.status) || row.plan !== input.plan) return null;
      return reissue(await keptFromRow(deps, row, input.plansFile));
    },
  });
}

/** What a provision reply holds (no token), rebuilt from the row and the plans. */
async function keptFromRow(deps: Deps, row: InstanceRecord, plansFile?: string): Promise<KeptProvision> {
  const [host, plans] = await Promise.all([deps.store.hosts.getById(row.hostId), loadPlansFor(deps, plansFile)]);
  if (!host) throw new NotFoundError(`instance ${row.customerId}'s host is no longer registered`);
  const ports = portsForSlot(row.portSlot ?? 0, plans.basePort, plans.portStep);
  return {
    customerId: row.customerId,
    plan: row.plan,
    host: host.name,
    instanceId: row.id,
    status: row.status,
    ...loopbackAccess(host, ports),
    publicUrl: siteUrls(plans.ingress, row.subdomain, "").publicUrl,
    ports,
    durationMs: 0,
    timings: {},
    changed: false,
    composeRuns: 0,
  };
}

export function upgradeOnce(deps: Deps, input: UpgradeInput): Promise<UpgradeResult & Replayed> {
  return secretFreeOnce(deps, "upgrade", input, () => upgradeInstance(deps, input));
}

export function destroyOnce(deps: Deps, input: DestroyInput): Promise<DestroyResult & Replayed> {
  return secretFreeOnce(deps, "destroy", input, () => destroyInstance(deps, input));
}

/** An operation whose result holds no secret: a repeat gets the kept result back as it is. */
function secretFreeOnce<T>(deps: Deps, operation: "upgrade" | "destroy", input: { customerId: string; idempotencyKey?: string }, work: () => Promise<T>): Promise<T & Replayed> {
  // Replayed's fields are all optional: a first outcome is one as it stands.
  const run = work as () => Promise<T & Replayed>;
  if (!input.idempotencyKey) return run();
  const { idempotencyKey: key, ...request } = input;
  return onceByKey<T & Replayed, T>(deps, { key, operation, customerId: input.customerId, request, run, keep: (r) => r, replay: async (kept) => ({ ...kept, replayed: true }) });
}

export function rotateTokenOnce(deps: Deps, customerId: string, opts: { plansFile?: string; idempotencyKey?: string } = {}): Promise<RotateTokenResult & Replayed> {
  if (!opts.idempotencyKey) return rotateToken(deps, customerId, opts);
  type Kept = Omit<RotateTokenResult, "gatewayToken">;
  return onceByKey<RotateTokenResult & Replayed, Kept>(deps, {
    key: opts.idempotencyKey,
    operation: "rotate-token",
    customerId,
    request: { plansFile: opts.plansFile ?? null },
    run: () => rotateToken(deps, customerId, opts),
    keep: ({ gatewayToken: _t, ...kept }) => kept,
    replay: async () => ({ ...(await rotateToken(deps, customerId, opts)), replayed: true, tokenReissued: true }),
  });
}
