import { ConflictError, NotFoundError } from "../errors.js";
import type { HostRecord } from "../store/types.js";
import type { Deps } from "./ports.js";

/** Without --host: free goes to the least-loaded shared host, pro/enterprise to an empty dedicated one. */
export async function pickHost(deps: Deps, dedicated: boolean): Promise<HostRecord> {
  const hosts = (await deps.store.hosts.list()).filter((h) => h.status === "active" && h.shared !== dedicated);
  if (hosts.length === 0) {
    throw new NotFoundError(
      dedicated ? "no dedicated (non-shared) host is registered" : "no shared host is registered for free instances",
      dedicated ? "add one with `clawfleet hosts add NAME --ssh USER@ADDR …`, or name one with --host" : "add one with `clawfleet hosts add NAME --ssh USER@ADDR --shared …`",
    );
  }
  const loads = await Promise.all(hosts.map(async (h) => ({ h, n: await deps.store.instances.countLive(h.id) })));
  const candidates = loads.filter((l) => !dedicated || l.n === 0).sort((a, b) => a.n - b.n || a.h.name.localeCompare(b.h.name));
  if (candidates.length === 0) {
    throw new ConflictError("every dedicated host already carries an instance", "add a host with `clawfleet hosts add`, then provision again");
  }
  return candidates[0]!.h;
}
