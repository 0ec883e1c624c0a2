import { formatMs } from "../../domain/health-policy.js";
import type { HostRecord } from "../../store/types.js";
import { raiseAlert, type AlertSink } from "../alerts.js";
import type { HostProbe } from "./host.js";
import type { Deps } from "../ports.js";

/**
 * One alert when a host stops answering, one when it is back. The DB's compare-and-set on
 * Host.downSince decides which process raises it, so several daemons still send one of each.
 */
export async function hostOutage(deps: Deps, alerts: AlertSink, host: HostRecord, probe: HostProbe): Promise<void> {
  const at = probe.observedAt;
  if (!probe.reachable) {
    if (host.downSince) return;
    if (await deps.store.healthChecks.markHostDown(host.id, at, probe.error)) {
      await raiseAlert(deps, alerts, { kind: "host-down", customerId: null, host: host.name, reason: `unreachable: ${probe.error}`, at: at.toISOString(), attempts: 1 });
    }
    return;
  }
  // The row read at the start of the sweep says whether an outage may be open; only then ask the DB.
  if (!host.downSince) return;
  const since = await deps.store.healthChecks.markHostUp(host.id);
  if (since) {
    const outage = formatMs(Math.max(0, at.getTime() - since.getTime()));
    await raiseAlert(deps, alerts, { kind: "host-back", customerId: null, host: host.name, reason: `reachable again after ${outage} (down since ${since.toISOString()})`, at: at.toISOString(), attempts: 0 });
  }
}
