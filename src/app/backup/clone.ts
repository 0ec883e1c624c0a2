import { checkCustomerId } from "../../domain/ids.js";
import { ClawfleetError, ConflictError } from "../../errors.js";
import { destroyInstance } from "../lifecycle/destroy.js";
import { step } from "../events.js";
import { messageOf } from "../instance-lookup.js";
import type { Deps } from "../ports.js";
import { provision, type ProvisionResult } from "../provision/provision.js";
import { hashStream, openPlain } from "./archive.js";
import { restoreInPlace, verifiedBackup } from "./restore.js";

export interface CloneInput {
  backupId: string;
  to: string;
  host?: string;
  plan?: string;
  plansFile?: string;
}

export type CloneResult = ProvisionResult & { restoredFrom: { backupId: string; customerId: string; at: string } };

/**
 * Provisions a new instance and loads the backup into it: the seed's snapshot-and-clone. The
 * backup is verified end to end (decrypted too) first; if loading fails, the new instance is
 * destroyed again, so nothing half-made is left.
 */
export async function cloneFromBackup(deps: Deps, input: CloneInput): Promise<CloneResult> {
  const to = checkCustomerId(input.to, "--to");
  const existing = await deps.store.instances.get(to);
  if (existing && existing.status !== "destroyed") throw new ConflictError(`customer ${to} already has an instance`, "pick a new id for --to, or restore in place without --to");
  const { backup, identity } = await verifiedBackup(deps, input.backupId);
  if (identity !== null) {
    await step(deps.onEvent, "verify", { customerId: to, detail: () => "decrypts to the recorded SHA-256" }, async () => {
      let sha256: string;
      try {
        ({ sha256 } = await hashStream(await openPlain(backup.path, identity)));
      } catch (err) {
        throw new ClawfleetError("FAILED", `refusing to restore backup ${backup.id}: it cannot be decrypted (${messageOf(err)})`, "nothing was changed");
      }
      if (sha256 !== backup.plainSha256) throw new ClawfleetError("FAILED", `refusing to restore backup ${backup.id}: its plaintext does not match its SHA-256`, "nothing was changed");
    });
  }
  const source = await deps.store.instances.get(backup.customerId);
  const made = (await provision(deps, { customerId: to, plan: input.plan ?? backup.plan, host: input.host, image: source?.image, plansFile: input.plansFile })) as ProvisionResult;
  try {
    await restoreInPlace(deps, to, backup.id, { plansFile: input.plansFile, allowOtherCustomer: true });
  } catch (err) {
    await destroyInstance(deps, { customerId: to, force: true, reason: `clone from backup ${backup.id} failed` }).catch(() => {});
    throw err;
  }
  return { ...made, restoredFrom: { backupId: backup.id, customerId: backup.customerId, at: backup.at.toISOString() } };
}
