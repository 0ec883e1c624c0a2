import { z } from "zod";
import { ConflictError, RemoteCommandError } from "../../errors.js";
import { checkImageRef } from "../../domain/images.js";
import { loadPlansFor, getPlan, type PlanSpec } from "../../domain/plans.js";
import type { HostRecord, InstanceRecord, InstanceStatus } from "../../store/types.js";
import { desiredFor, type Desired } from "../provision/desired.js";
import { audit } from "../audit/record.js";
import { parseInput } from "../../domain/input.js";
import { configState, connect, inspectInstance, mainContainer, messageOf, mustGetInstance } from "../instance-lookup.js";
import { inspectAfterFailure, reprovision } from "../provision/reprovision.js";
import { ProvisionScriptError } from "../provision/remote.js";
import { withRunSlot } from "../coordination/runs/gate.js";
import { withInstanceLease } from "../coordination/leases/instance.js";
import type { Deps } from "../ports.js";
import { keptSettings, parseStoredSettings, storeSettings } from "../../domain/settings.js";

/** Covers provision.sh twice over (new version, then the restored one) plus pulls. */
export const UPGRADABLE: InstanceStatus[] = ["healthy", "unhealthy", "quarantined"];

const UpgradeInput = z.object({
  customerId: z.string(),
  /** Default: the instance's current image. */
  image: z.string().optional(),
  /** Default: the instance's current plan. */
  plan: z.string().optional(),
  plansFile: z.string().optional(),
  /** Repeating a call with the same key returns the first outcome. */
  idempotencyKey: z.string().optional(),
});
export type UpgradeInput = z.input<typeof UpgradeInput>;

export interface UpgradeResult {
  customerId: string;
  host: string;
  /** "none": in sync with nothing to change, so nothing was touched. */
  action: "none" | "upgraded";
  plan: string;
  previousPlan: string;
  image: string;
  previousImage: string;
  configHash: string;
  previousConfigHash: string | null;
  durationMs: number;
  warnings: string[];
}

/**
 * Re-renders with a new image or plan and re-provisions, gated on health. When the new version is
 * not healthy in time, provision.sh restores the previous files and container; this records the
 * rollback and throws RemoteCommandError (exit 1).
 */
export async function upgradeInstance(deps: Deps, raw: UpgradeInput): Promise<UpgradeResult> {
  const started = Date.now();
  const input = parseInput(UpgradeInput, raw);
  const { row, host } = await mustGetInstance(deps, input.customerId);
  assertUpgradable(row, "upgrade");
  const image = input.image ? checkImageRef(input.image) : row.image;
  const plans = await loadPlansFor(deps, input.plansFile);
  const plan = input.plan ?? row.plan;
  const spec = getPlan(plans, plan);
  if (plan !== row.plan) await assertPlacement(deps, host, row, plan, spec.dedicatedHost);
  const target: Target = { plan, image, spec, desired: desiredFor(plans, host, row, { plan, image }), plansFile: input.plansFile };
  return withInstanceLease(deps, row, "upgrade", () => withRunSlot(deps, host, row.customerId, "upgrade", () => upgradeLeased(deps, row, host, target, started)), UPGRADABLE);
}

interface Target {
  plan: string;
  image: string;
  spec: PlanSpec;
  desired: Desired;
  plansFile?: string;
}

async function upgradeLeased(deps: Deps, row: InstanceRecord, host: HostRecord, t: Target, started: number): Promise<UpgradeResult> {
  const shell = await connect(deps, host, row.customerId);
  const base = { customerId: row.customerId, host: host.name, plan: t.plan, previousPlan: row.plan, image: t.image, previousImage: row.image, previousConfigHash: row.configHash };
  const live = mainContainer((await inspectInstance(deps, shell, host, row.customerId)).containers);
  if (t.desired.configHash === row.configHash && live?.running && configState(row, live) === "in-sync") {
    return { ...base, action: "none", configHash: t.desired.configHash, durationMs: Date.now() - started, warnings: [] };
  }
  const what = describeChange(row, t.plan, t.image, t.desired.configHash);
  try {
    const out = await reprovision(deps, shell, { row, host, plan: t.plan, image: t.image, token: "keep", plansFile: t.plansFile });
    const now = deps.clock.now().getTime();
    await deps.store.instances.update(row.customerId, {
      plan: t.plan,
      image: t.image,
      configHash: out.configHash,
      tokenHash: out.tokenHash,
      status: "healthy",
      statusReason: null,
      consecutiveFailures: 0,
      // Settings the new plan does not accept fell back to its defaults: forget them.
      settings: storeSettings(keptSettings(t.spec, parseStoredSettings(row.settings))),
      expiresAt: t.plan === row.plan ? row.expiresAt : t.spec.expiresAfterMs ? new Date(now + t.spec.expiresAfterMs) : null,
    });
    await audit(deps, "instance.upgrade", row.customerId, "ok", what + (out.newToken ? "; a new token was issued" : ""));
    return { ...base, action: "upgraded", configHash: out.configHash, durationMs: Date.now() - started, warnings: out.warnings };
  } catch (err) {
    throw await recordRollback(deps, shell, host, row, "upgrade", what, err);
  }
}

export function assertUpgradable(row: InstanceRecord, action: string): void {
  if (row.status === "stopped") {
    throw new ConflictError(`${row.customerId} is stopped; ${action} would start it`, `start it first with \`clawfleet start ${row.customerId}\``);
  }
  if (row.status === "provisioning" || row.status === "failed") {
    throw new ConflictError(`cannot ${action} ${row.customerId}: its status is ${row.status}`, "finish or retry its provision first");
  }
}

async function assertPlacement(deps: Deps, host: HostRecord, row: InstanceRecord, plan: string, dedicated: boolean): Promise<void> {
  const others = (await deps.store.instances.list({ hostId: host.id })).filter((o) => o.customerId !== row.customerId);
  if (dedicated && others.length > 0) {
    throw new ConflictError(
      `plan ${plan} needs a dedicated host, and ${host.name} also carries ${others.map((o) => o.customerId).join(", ")}`,
      "moving an instance between hosts is not supported: destroy it and provision it on a dedicated host",
    );
  }
}

function describeChange(row: InstanceRecord, plan: string, image: string, hash: string): string {
  const parts: string[] = [];
  if (plan !== row.plan) parts.push(`plan ${row.plan} -> ${plan}`);
  if (image !== row.image) parts.push(`image ${row.image} -> ${image}`);
  if (parts.length === 0) parts.push(hash === row.configHash ? "re-applied the recorded config" : "config from the current plans and templates");
  return parts.join(", ");
}

/**
 * After a failed re-provision: records what runs now (the restored previous version, or nothing),
 * writes the Events, and returns the error to throw.
 */
export async function recordRollback(deps: Deps, shell: Parameters<typeof inspectAfterFailure>[1], host: HostRecord, row: InstanceRecord, action: string, what: string, err: unknown, retry = `clawfleet ${action} ${row.customerId}`): Promise<unknown> {
  if (!(err instanceof RemoteCommandError)) {
    await audit(deps, `instance.${action}`, row.customerId, "failed", `${what}: ${messageOf(err)}`.slice(0, 500));
    return err;
  }
  const after = await inspectAfterFailure(deps, shell, host, row);
  // provision.sh saw the restored version ready (/healthz 200); Docker's own check may not have run yet.
  if (err instanceof ProvisionScriptError && err.restored && after.restoredPrevious && after.running && after.health === "starting") after.health = "healthy";
  const now = after.running
    ? `the previous version (image ${after.image}) is running${after.health ? ", " + after.health : ""}`
    : "nothing is running now";
  const reason = messageOf(err).replace(/^instance \S+ did not become healthy on \S+: /, "");
  await deps.store.instances.update(row.customerId, {
    status: after.running && after.health === "healthy" ? "healthy" : "unhealthy",
    statusReason: `${action} failed (${reason}); ${after.restoredPrevious ? "rolled back" : "not rolled back"}`.slice(0, 500),
  });
  await audit(deps, `instance.${action}`, row.customerId, "failed", `${what}: ${reason}`.slice(0, 500));
  if (after.restoredPrevious) await audit(deps, "instance.rollback", row.customerId, "ok", `after a failed ${action}: ${now}`.slice(0, 500));
  return new RemoteCommandError(host.name, action, `${action} of ${row.customerId} failed: ${reason}; ${after.restoredPrevious ? "rolled back: " : ""}${now}`, {
    exitCode: err.exitCode,
    stderrTail: err.stderrTail,
    hint: after.restoredPrevious ? `fix the cause (see the log tail above), then run \`${retry}\` again` : `inspect it with \`clawfleet status ${row.customerId}\``,
  });
}
