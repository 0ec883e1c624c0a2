import { apiKeyFingerprint } from "../../domain/secrets.js";
import { destroyInstance, type DestroyInput, type DestroyResult } from "../destroy.js";
import type { Deps } from "../ports.js";
import { provision, type DryRunResult, type ProvisionInput, type ProvisionResult } from "../provision.js";
import { rotateToken, type RotateTokenResult } from "../rotate-token.js";
import { upgradeInstance, type UpgradeInput, type UpgradeResult } from "../upgrade.js";
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
  });
}

export function upgradeOnce(deps: Deps, input: UpgradeInput): Promise<UpgradeResult & Replayed> {
  if (!input.idempotencyKey) return upgradeInstance(deps, input);
  const { idempotencyKey: key, ...request } = input;
  return onceByKey<UpgradeResult & Replayed, UpgradeResult>(deps, {
    key,
    operation: "upgrade",
    customerId: input.customerId,
    request,
    run: () => upgradeInstance(deps, input),
    keep: (r) => r,
    replay: async (kept) => ({ ...kept, replayed: true }),
  });
}

export function destroyOnce(deps: Deps, input: DestroyInput): Promise<DestroyResult & Replayed> {
  if (!input.idempotencyKey) return destroyInstance(deps, input);
  const { idempotencyKey: key, ...request } = input;
  return onceByKey<DestroyResult & Replayed, DestroyResult>(deps, {
    key,
    operation: "destroy",
    customerId: input.customerId,
    request,
    run: () => destroyInstance(deps, input),
    keep: (r) => r,
    replay: async (kept) => ({ ...kept, replayed: true }),
  });
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
