import type { HostRecord } from "../../store/types.js";

/** Memory kept back for the OS, Docker and the proxy when a host's capacity comes from its MemTotal. */
export const DEFAULT_RESERVE_MB = 1024;

export type CapacitySource = "set" | "memtotal" | "unknown";

export interface HostCapacity {
  /** Memory instances may use, in MB; null when unknown (no --capacity-mb, MemTotal not read). */
  capacityMb: number | null;
  source: CapacitySource;
}

/** `--capacity-mb` when given, else MemTotal minus the reserve (CLAWFLEET_HOST_RESERVE_MB). */
export function hostCapacity(host: Pick<HostRecord, "capacityMb" | "memTotalMb">, reserveMb: number): HostCapacity {
  if (host.capacityMb != null) return { capacityMb: host.capacityMb, source: "set" };
  if (host.memTotalMb != null) return { capacityMb: Math.max(0, host.memTotalMb - reserveMb), source: "memtotal" };
  return { capacityMb: null, source: "unknown" };
}

export function reserveMb(env: NodeJS.ProcessEnv): number {
  const raw = env.CLAWFLEET_HOST_RESERVE_MB;
  if (raw === undefined || raw === "") return DEFAULT_RESERVE_MB;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : DEFAULT_RESERVE_MB;
}

/** A plan's memory limit in whole MB, rounded up. */
export function planMemoryMb(spec: { memoryBytes: number }): number {
  return Math.ceil(spec.memoryBytes / (1024 * 1024));
}
