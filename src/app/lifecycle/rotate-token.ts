import { RemoteCommandError } from "../../errors.js";
import { generateGatewayToken, sha256Hex } from "../../domain/secrets.js";
import { parseTokenHash, tokenHashCommand } from "../../remote/commands/stage.js";
import type { RemoteShell } from "../../remote/types.js";
import { audit } from "../audit/record.js";
import { connect, mustGetInstance } from "../instance-lookup.js";
import { reprovision } from "../provision/reprovision.js";
import { UPGRADABLE, assertUpgradable, recordRollback } from "./upgrade.js";
import { withRunSlot } from "../coordination/runs/gate.js";
import { withInstanceLease } from "../coordination/leases/instance.js";
import type { HostRecord, InstanceRecord } from "../../store/types.js";
import type { Deps } from "../ports.js";

export interface RotateTokenResult {
  customerId: string;
  host: string;
  /** Shown once: only its SHA-256 is kept. */
  gatewayToken: string;
  /** The config hash changed too: the plans or templates changed since the last provision. */
  configChanged: boolean;
  durationMs: number;
  warnings: string[];
}

/**
 * Writes a fresh 256-bit token into the host's .env (atomically, via provision.sh), restarts the
 * instance and waits for health, then replaces the DB hash. When the new run fails, provision.sh
 * restores the previous .env and container, so the old token stays in force and the DB keeps its hash.
 */
export async function rotateToken(deps: Deps, customerId: string, opts: { plansFile?: string } = {}): Promise<RotateTokenResult> {
  const started = Date.now();
  const { row, host } = await mustGetInstance(deps, customerId);
  assertUpgradable(row, "rotate-token");
  return withInstanceLease(deps, row, "rotate-token", () => withRunSlot(deps, host, row.customerId, "rotate-token", () => rotateLeased(deps, row, host, opts.plansFile, started)), UPGRADABLE);
}

async function rotateLeased(deps: Deps, row: InstanceRecord, host: HostRecord, plansFile: string | undefined, started: number): Promise<RotateTokenResult> {
  const shell = await connect(deps, host, row.customerId);
  const fresh = generateGatewayToken();
  const attempted = sha256Hex(fresh);
  try {
    const out = await reprovision(deps, shell, { row, host, plan: row.plan, image: row.image, token: { fresh }, plansFile });
    await deps.store.instances.update(row.customerId, { tokenHash: out.tokenHash, configHash: out.configHash, status: "healthy", statusReason: null, consecutiveFailures: 0 });
    const configChanged = out.configHash !== row.configHash;
    await audit(deps, "instance.rotate-token", row.customerId, "ok", `new token in force; old token revoked${configChanged ? "; config re-rendered from the current plans" : ""}`);
    return { customerId: row.customerId, host: host.name, gatewayToken: fresh, configChanged, durationMs: Date.now() - started, warnings: out.warnings };
  } catch (err) {
    const thrown = await recordRollback(deps, shell, host, row, "rotate-token", "new token", err);
    const inForce = await tokenInForce(shell, host.remoteRoot, row.customerId, row.tokenHash, attempted);
    if (inForce === "new") {
      // The run died after the swap: the DB follows the host, and nobody holds the token, so say so.
      await deps.store.instances.update(row.customerId, { tokenHash: attempted });
      await audit(deps, "instance.rotate-token", row.customerId, "failed", "the new token is on the host but was not shown; rotate again");
    }
    const note = inForce === "old" ? "the old token stays in force" : inForce === "new" ? "the host already holds an unshown new token: run rotate-token again" : "could not verify which token the host holds";
    if (thrown instanceof RemoteCommandError) {
      throw new RemoteCommandError(thrown.host, thrown.step, `${thrown.message}; ${note}`, { exitCode: thrown.exitCode, stderrTail: thrown.stderrTail, hint: thrown.hint });
    }
    throw thrown;
  }
}

/** Which token the host's .env holds now, by hash; the token never leaves the host. */
async function tokenInForce(shell: RemoteShell, root: string, customerId: string, oldHash: string | null, newHash: string | null): Promise<"old" | "new" | "unknown"> {
  try {
    const res = await shell.exec(tokenHashCommand(root, customerId), { timeoutMs: 15_000 });
    const hash = parseTokenHash(res.stdout);
    if (hash && hash === oldHash) return "old";
    if (hash && hash === newHash) return "new";
  } catch {
    // unreachable: unknown
  }
  return "unknown";
}
