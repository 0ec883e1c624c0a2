import type { HostSweepState } from "../../../store/coordination-types.js";

/**
 * Claim order: the hosts this sweeper swept last time first, so each daemon keeps roughly the same
 * share and its pooled connections stay warm; then the longest unswept.
 */
export function orderForClaims(states: HostSweepState[], owner: string): HostSweepState[] {
  const t = (s: HostSweepState) => s.sweptAt?.getTime() ?? -Infinity;
  return [...states].sort((a, b) => Number(b.sweptBy === owner) - Number(a.sweptBy === owner) || t(a) - t(b) || a.hostId.localeCompare(b.hostId));
}
