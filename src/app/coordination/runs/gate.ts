import { makeOwner } from "../../../store/lease-owner.js";
import type { HostRecord } from "../../../store/types.js";
import { startHeartbeat, LEASE_POLICY } from "../leases/heartbeat.js";
import { isDeadLocalOwner } from "../leases/holder.js";
import type { Deps } from "../../ports.js";
import { FifoSemaphore } from "./fifo.js";

export interface RunLimits {
  /** Remote runs at once on one host, across every process sharing the DB. */
  perHost: number;
  /** Remote runs at once from this process, over all hosts. */
  overall: number;
}

export const DEFAULT_RUN_LIMITS: RunLimits = { perHost: 3, overall: 10 };

const POLL_MIN_MS = 200;
const POLL_MAX_MS = 2_000;

/**
 * Bounds the remote runs (provision, upgrade, destroy, …) that go on at once. In this process
 * callers queue in order, per host and overall; across processes a host's bound is held as DB run
 * slots with a heartbeat, so a crashed process frees its slot within the lease TTL (at once when it
 * died on this machine).
 */
export class RunGate {
  private readonly overall: FifoSemaphore;
  private readonly perHost = new Map<string, FifoSemaphore>();

  constructor(readonly limits: RunLimits = DEFAULT_RUN_LIMITS) {
    checkBound("perHost", limits.perHost);
    this.overall = new FifoSemaphore(limits.overall);
  }

  async run<T>(deps: Deps, host: HostRecord, customerId: string | undefined, label: string, fn: () => Promise<T>): Promise<T> {
    const queued = (position: number, waitingFor: QueueReason) =>
      deps.onEvent({ type: "queued", host: host.name, customerId, position, waitingFor, at: Date.now() });
    const local = this.hostSemaphore(host.name);
    const releaseHost = await local.acquire((p) => queued(p, "host"));
    try {
      const releaseOverall = await this.overall.acquire((p) => queued(p, "overall"));
      try {
        return await withDbSlot(deps, host, this.limits.perHost, `${label}${customerId ? ` ${customerId}` : ""}`, (n) => queued(n, "other-processes"), fn);
      } finally {
        releaseOverall();
      }
    } finally {
      releaseHost();
    }
  }

  private hostSemaphore(name: string): FifoSemaphore {
    let s = this.perHost.get(name);
    if (!s) this.perHost.set(name, (s = new FifoSemaphore(this.limits.perHost)));
    return s;
  }
}

function checkBound(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name}: a concurrency bound must be a whole number ≥ 1, got ${n}`);
}

export type QueueReason = "host" | "overall" | "other-processes";

let fallback: RunGate | undefined;

/** Runs `fn` as one bounded remote run on `host` (the Deps' gate, else a process-wide default). */
export function withRunSlot<T>(deps: Deps, host: HostRecord, customerId: string | undefined, label: string, fn: () => Promise<T>): Promise<T> {
  const gate = deps.runs ?? (fallback ??= new RunGate());
  return gate.run(deps, host, customerId, label, fn);
}

async function withDbSlot<T>(deps: Deps, host: HostRecord, limit: number, label: string, onWait: (holders: number) => void, fn: () => Promise<T>): Promise<T> {
  const owner = makeOwner("run");
  const slots = deps.store.runSlots;
  let got = await slots.tryAcquire({ hostId: host.id, limit, owner, label, ttlMs: LEASE_POLICY.ttlMs, now: deps.clock.now() });
  let delay = POLL_MIN_MS;
  let told = false;
  while (!got) {
    const holders = await slots.holders(host.id, deps.clock.now());
    const dead = holders.filter((h) => isDeadLocalOwner(h.owner));
    if (dead.length > 0) {
      await Promise.all(dead.map((h) => slots.evict(host.id, h.slot, h.owner)));
    } else {
      if (!told) onWait(holders.length);
      told = true;
      await sleep(delay + Math.random() * delay);
      delay = Math.min(POLL_MAX_MS, delay * 2);
    }
    got = await slots.tryAcquire({ hostId: host.id, limit, owner, label, ttlMs: LEASE_POLICY.ttlMs, now: deps.clock.now() });
  }
  const slot = got.slot;
  const stop = startHeartbeat(deps.clock, (until) => slots.renew(host.id, slot, owner, until));
  try {
    return await fn();
  } finally {
    stop();
    await slots.release(host.id, slot, owner).catch(() => undefined);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
