import { newTestId } from "../../domain/ids.js";
import { makeOwner } from "../../store/lease-owner.js";
import { destroyInstance } from "../lifecycle/destroy.js";
import { mustGetHost } from "../hosts/hosts.js";
import { audit } from "../audit/record.js";
import { loadPlansFor, getPlan, type IngressConfig } from "../../domain/plans.js";
import { checkImageRef } from "../../domain/images.js";
import { connect, messageOf, mustGetInstance } from "../instance-lookup.js";
import { restartInstance } from "../lifecycle/lifecycle.js";
import { provision, type ProvisionResult } from "../provision/provision.js";
import { instanceStatus } from "../lifecycle/status.js";
import type { Deps } from "../ports.js";
import { hostHealthz, publicChecks, type Check } from "./checks.js";
import { findLeftovers, START_ACTION } from "./leftovers.js";

export interface TestDeployInput {
  /** Default: placement picks one, as for a provision. */
  host?: string;
  /** Default: the first plan in plans.yaml. */
  plan?: string;
  /** Default: the plan's image. */
  image?: string;
  plansFile?: string;
  /** Aborting skips the checks still to come; the cleanup runs anyway. */
  signal?: AbortSignal;
  /** Each check's outcome as it completes (the CLI prints a ✓/✗ line). */
  onCheck?: (check: TestCheck) => void;
}

export interface TestCheck {
  name: string;
  ok: boolean;
  /** What was seen; never a secret. */
  detail: string;
  durationMs: number;
}

export interface TestDeployResult {
  ok: boolean;
  customerId: string;
  plan: string;
  host: string | null;
  image: string | null;
  checks: TestCheck[];
  /** Public checks were skipped: plans.yaml has no `ingress:` section. */
  publicSkipped: boolean;
  interrupted: boolean;
  /** Throwaway instances of earlier runs that were found and removed first. */
  leftoversRemoved: string[];
  durationMs: number;
}

/**
 * A release smoke test: provisions a throwaway `cf-test-…` instance, checks it end to end, and
 * destroys it with its data, whatever happened. Leftovers of crashed runs are removed first.
 */
export async function testDeploy(deps: Deps, input: TestDeployInput = {}): Promise<TestDeployResult> {
  const started = Date.now();
  const plans = await loadPlansFor(deps, input.plansFile);
  const plan = input.plan ?? Object.keys(plans.plans)[0]!;
  // Bad input is refused before anything runs (exit 2 or 3), not reported as a failed check.
  getPlan(plans, plan);
  if (input.image !== undefined) checkImageRef(input.image);
  if (input.host !== undefined) await mustGetHost(deps, input.host);
  const customerId = newTestId(deps.clock.now());
  const checks: TestCheck[] = [];
  const record = (c: TestCheck) => {
    checks.push(c);
    input.onCheck?.(c);
    return c.ok;
  };
  const attempt = async (name: string, check: Check): Promise<boolean> => {
    const t = Date.now();
    try {
      return record({ name, ok: true, detail: await check(), durationMs: Date.now() - t });
    } catch (err) {
      return record({ name, ok: false, detail: messageOf(err).split("\n")[0]!, durationMs: Date.now() - t });
    }
  };
  const result: TestDeployResult = { ok: false, customerId, plan, host: null, image: null, checks, publicSkipped: !plans.ingress, interrupted: false, leftoversRemoved: [], durationMs: 0 };

  const leftovers = await findLeftovers(deps);
  if (leftovers.length > 0) {
    await attempt(`remove ${leftovers.length} leftover(s) of earlier runs`, async () => {
      for (const l of leftovers) {
        await destroyInstance(deps, { customerId: l.row.customerId, force: true, purgeBackups: true, reason: `test-deploy leftover: ${l.why}` });
        result.leftoversRemoved.push(l.row.customerId);
      }
      return result.leftoversRemoved.join(", ");
    });
  }

  await audit(deps, START_ACTION, customerId, "ok", `run ${makeOwner("test-deploy")}; plan ${plan}${input.host ? ` on ${input.host}` : ""}`);
  let created: ProvisionResult | null = null;
  try {
    await attempt("provision", async () => {
      created = (await provision(deps, { customerId, plan, host: input.host, image: input.image, plansFile: input.plansFile }, { testDeploy: true })) as ProvisionResult;
      return `${plan} on ${created.host}, gateway port ${created.ports.gateway}, ${created.durationMs} ms`;
    });
    const made = created as ProvisionResult | null;
    if (made) await runChecks(deps, made, input, plans.ingress, attempt, result);
  } finally {
    result.interrupted = Boolean(input.signal?.aborted);
    const row = await deps.store.instances.get(customerId);
    result.host ??= row ? ((await deps.store.hosts.getById(row.hostId))?.name ?? null) : (input.host ?? null);
    await cleanUp(deps, customerId, attempt);
  }
  result.ok = checks.length > 0 && checks.every((c) => c.ok) && !result.interrupted;
  result.durationMs = Date.now() - started;
  return result;
}

async function runChecks(deps: Deps, made: ProvisionResult, input: TestDeployInput, ingress: IngressConfig | null, attempt: (n: string, c: Check) => Promise<boolean>, result: TestDeployResult): Promise<void> {
  const live = () => !input.signal?.aborted;
  const { row, host } = await mustGetInstance(deps, made.customerId);
  result.host = host.name;
  result.image = row.image;
  const shell = await connect(deps, host, row.customerId);
  if (live()) await attempt("healthz on the host", hostHealthz(shell, host, made.ports.gateway));
  if (ingress && row.subdomain && deps.https) {
    for (const c of publicChecks({ https: deps.https, ingress, subdomain: row.subdomain, host, shell, token: made.gatewayToken })) {
      if (live()) await attempt(c.name, c.run);
    }
  }
  if (live()) {
    await attempt("status in sync", async () => {
      const s = await instanceStatus(deps, row.customerId, { plansFile: input.plansFile });
      const c = s.live.container;
      if (!c?.running) throw new Error(`the container is not running (${c?.state ?? "missing"})`);
      if (s.config.state !== "in-sync") throw new Error(`config ${s.config.state}: live ${s.config.live ?? "?"} vs recorded ${s.config.recorded ?? "?"}`);
      return `running, ${c.health ?? "no Docker health"}, config ${s.config.recorded?.slice(0, 12)} in sync`;
    });
  }
  if (live()) {
    await attempt("restart comes back healthy", async () => {
      const r = await restartInstance(deps, row.customerId, { plansFile: input.plansFile });
      if (r.state !== "healthy") throw new Error(`after the restart it is ${r.state}`);
      return "restarted and healthy";
    });
  }
}

/** Destroys the throwaway instance and its data; a row never claimed needs nothing. */
async function cleanUp(deps: Deps, customerId: string, attempt: (n: string, c: Check) => Promise<boolean>): Promise<void> {
  const row = await deps.store.instances.get(customerId);
  if (!row || row.status === "destroyed") return;
  await attempt("clean up", async () => {
    const d = await destroyInstance(deps, { customerId, force: true, purgeBackups: true, reason: "test-deploy clean-up" });
    return `removed the container, volume, files${d.removed.some((r) => r.startsWith("site ")) ? ", site" : ""} and slot ${d.freedSlot ?? "-"} on ${d.host}`;
  });
}
