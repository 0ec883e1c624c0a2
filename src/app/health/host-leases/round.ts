import type { HostSweepState } from "../../../store/coordination-types.js";
import type { HostRecord } from "../../../store/types.js";
import { LEASE_POLICY, startHeartbeat } from "../../coordination/leases/heartbeat.js";
import { isDeadLocalOwner } from "../../coordination/leases/holder.js";
import type { Deps } from "../../ports.js";
import { sleep } from "../../sleep.js";
import { orderForClaims } from "./order.js";

/** One sweep round over the hosts, shared with every other sweeper on the same DB through host leases. */
export interface RoundPlan {
  owner: string;
  hosts: HostRecord[];
  /** Recorded as each host's sweptAt: the start of the period this round sweeps. */
  periodAt: Date;
  /** Only hosts not swept since this are due; null: every host once, due or not (a one-shot check). */
  dueBefore: Date | null;
  /** Hosts still held by others at this time are given up as missed. */
  deadline: Date;
  /** Record the sweep on the hosts (false: an observe-only or one-instance sweep, which must not stand in for a full one). */
  record: boolean;
  concurrency: number;
  /** Hosts per claim and per history write. */
  batch: number;
  signal?: AbortSignal;
  ttlMs?: number;
}

export interface RoundWork<R> {
  /** Sweeps the hosts just claimed; one promise per host, in order. */
  start(hosts: HostRecord[]): Promise<R>[];
  /** Writes a batch of finished hosts' results, before they are recorded as swept. */
  flush(results: R[]): Promise<void>;
  /** Whether the host was really swept (false: its probe was abandoned, so it goes back unrecorded). */
  complete(result: R): boolean;
}

export interface RoundOutcome<R> {
  results: R[];
  /** Hosts another sweeper had already swept for this period. */
  elsewhere: number;
  /** Hosts still held by another live sweeper when the deadline came. */
  missed: HostRecord[];
}

const POLL_MS = 500;
const FLUSH_MS = 500;

/**
 * Claims hosts in batches as sweep capacity frees up, sweeps them, writes their results in batches
 * and records them swept. Hosts another sweeper holds are waited for: when its lease lapses or its
 * process is found dead, they are taken over, so a daemon killed mid-sweep costs its hosts no period.
 */
export async function sweepRound<R>(deps: Deps, plan: RoundPlan, work: RoundWork<R>): Promise<RoundOutcome<R>> {
  const { store, clock } = deps;
  const ttlMs = plan.ttlMs ?? LEASE_POLICY.ttlMs;
  const byId = new Map(plan.hosts.map((h) => [h.id, h]));
  const out: RoundOutcome<R> = { results: [], elsewhere: 0, missed: [] };
  const pending: string[] = [];
  const held = new Set<string>();
  const dead = new Set<string>();
  const inflight = new Map<string, Promise<void>>();
  const done: { id: string; r: R; at: number }[] = [];
  const sort = (states: HostSweepState[]) => {
    const now = clock.now();
    for (const s of states) {
      if (isSweptElsewhere(s, plan.dueBefore)) out.elsewhere++;
      else if (s.owner && s.owner !== plan.owner && s.until && s.until >= now && !isDeadLocalOwner(s.owner)) held.add(s.hostId);
      else {
        if (s.owner && isDeadLocalOwner(s.owner)) dead.add(s.owner);
        pending.push(s.hostId);
      }
    }
  };
  sort(orderForClaims(await store.sweeps.states([...byId.keys()]), plan.owner));
  const stopBeat = startHeartbeat(clock, async (until) => (await store.sweeps.renew(plan.owner, until), true), { ttlMs });
  const flush = async () => {
    const batch = done.splice(0, done.length);
    if (batch.length === 0) return;
    await work.flush(batch.map((d) => d.r));
    out.results.push(...batch.map((d) => d.r));
    const swept = batch.filter((d) => plan.record && work.complete(d.r)).map((d) => d.id);
    await store.sweeps.finish(plan.owner, swept, plan.periodAt);
    await store.sweeps.release(plan.owner, batch.filter((d) => !swept.includes(d.id)).map((d) => d.id));
  };
  let lastPoll = Date.now();
  try {
    while (!plan.signal?.aborted) {
      while (inflight.size < plan.concurrency && pending.length > 0 && !plan.signal?.aborted) {
        const ids = pending.splice(0, Math.min(plan.batch, plan.concurrency - inflight.size));
        const now = clock.now();
        const won = new Set(await store.sweeps.claim({ owner: plan.owner, hostIds: ids, dueBefore: plan.dueBefore, now, until: new Date(now.getTime() + ttlMs), takeoverFrom: [plan.owner, ...dead] }));
        const hosts = ids.filter((id) => won.has(id)).map((id) => byId.get(id)!);
        work.start(hosts).forEach((p, i) => {
          const id = hosts[i]!.id;
          inflight.set(id, p.then((r) => void done.push({ id, r, at: Date.now() })).finally(() => inflight.delete(id)));
        });
        const lost = ids.filter((id) => !won.has(id));
        if (lost.length > 0) sort(await store.sweeps.states(lost));
      }
      const oldest = done[0]?.at;
      if (done.length >= plan.batch || (oldest !== undefined && (inflight.size === 0 || Date.now() - oldest >= FLUSH_MS))) await flush();
      if (inflight.size === 0 && pending.length === 0 && held.size === 0) break;
      if (inflight.size === 0 && pending.length === 0 && clock.now() >= plan.deadline) {
        out.missed = [...held].map((id) => byId.get(id)!);
        break;
      }
      const wait = held.size > 0 || done.length > 0 ? sleep(held.size > 0 ? POLL_MS : FLUSH_MS, plan.signal) : null;
      await Promise.race([...inflight.values(), ...(wait ? [wait] : [])]);
      // Held hosts are looked at again once per POLL_MS, not on every probe that finishes meanwhile.
      if (held.size > 0 && pending.length === 0 && Date.now() - lastPoll >= POLL_MS) {
        lastPoll = Date.now();
        const ids = [...held];
        held.clear();
        sort(await store.sweeps.states(ids));
      }
    }
  } finally {
    stopBeat();
    // Hosts whose probe was abandoned (the daemon is stopping) go back at once, unrecorded.
    await Promise.allSettled(inflight.values());
    await flush().finally(() => store.sweeps.release(plan.owner, [...byId.keys()]));
  }
  return out;
}

function isSweptElsewhere(s: HostSweepState, dueBefore: Date | null): boolean {
  return dueBefore !== null && s.sweptAt !== null && s.sweptAt >= dueBefore;
}
