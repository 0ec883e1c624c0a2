import type { HealthCheckRecord, HealthRepo, Lease, LeaseRepo } from "../../src/store/health-types.js";
import type { EventRecord, HostRecord, InstanceRecord } from "../../src/store/types.js";

/** In-memory HealthRepo and LeaseRepo with the Prisma versions' rules, over memoryStore's maps. */
export function memoryHealth(hosts: Map<string, HostRecord>, rows: Map<string, InstanceRecord>, events: EventRecord[]) {
  const checks: HealthCheckRecord[] = [];
  let seq = 0;
  const hostById = (id: string) => [...hosts.values()].find((h) => h.id === id);
  const healthChecks: HealthRepo = {
    async record(list) {
      for (const r of list) checks.push({ ...r, id: `hc${++seq}` });
    },
    history: async (instanceId, o = {}) =>
      checks
        .filter((c) => c.instanceId === instanceId && (!o.since || c.at >= o.since))
        .sort((a, b) => b.at.getTime() - a.at.getTime())
        .slice(0, o.limit ?? 50),
    async prune(before) {
      const keep = checks.filter((c) => c.at >= before);
      const removed = checks.length - keep.length;
      checks.splice(0, checks.length, ...keep);
      return removed;
    },
    async touchHealthy(ids, at) {
      for (const r of rows.values()) if (ids.includes(r.id) && r.status === "healthy" && r.consecutiveFailures === 0) r.lastHealthAt = at;
    },
    async markHostDown(hostId, at, reason) {
      const h = hostById(hostId);
      if (!h || h.downSince) return false;
      Object.assign(h, { downSince: at, downReason: reason });
      return true;
    },
    async markHostUp(hostId) {
      const h = hostById(hostId);
      const since = h?.downSince ?? null;
      if (h) Object.assign(h, { downSince: null, downReason: null });
      return since;
    },
    countEvents: async (prefix, since) => events.filter((e) => e.action.startsWith(prefix) && e.at >= since).length,
  };
  const current = (l: Lease) => {
    const r = rows.get(l.customerId);
    return r && r.leaseOwner === l.owner && r.leaseFence === l.fence ? r : null;
  };
  const leases: LeaseRepo = {
    async acquire({ customerId, owner, ttlMs, now, statuses }) {
      const r = rows.get(customerId);
      if (!r || !statuses.includes(r.status)) return null;
      const live = r.leaseOwner && r.leaseUntil && r.leaseUntil >= now;
      if (live && r.leaseOwner !== owner) return null;
      const until = new Date(now.getTime() + ttlMs);
      // Our own live lease keeps its start; a free or lapsed one starts now.
      Object.assign(r, { leaseOwner: owner, leaseUntil: until, leaseFence: r.leaseFence + 1, ...(live ? {} : { leaseSince: now }) });
      return { customerId, owner, fence: r.leaseFence, until, row: { ...r } };
    },
    async takeover({ customerId, fromOwner, owner, ttlMs, now, statuses }) {
      const r = rows.get(customerId);
      if (!r || !statuses.includes(r.status) || r.leaseOwner !== fromOwner) return null;
      const until = new Date(now.getTime() + ttlMs);
      Object.assign(r, { leaseOwner: owner, leaseUntil: until, leaseSince: now, leaseFence: r.leaseFence + 1 });
      return { customerId, owner, fence: r.leaseFence, until, row: { ...r } };
    },
    async unlock(customerId) {
      const r = rows.get(customerId);
      if (!r?.leaseOwner) return null;
      const previous = { owner: r.leaseOwner, since: r.leaseSince ?? null, until: r.leaseUntil };
      Object.assign(r, { leaseOwner: null, leaseUntil: null, leaseSince: null, leaseFence: r.leaseFence + 1 });
      return previous;
    },
    async renew(l, until) {
      const r = current(l);
      if (r) r.leaseUntil = until;
      return r !== null;
    },
    async write(l, patch) {
      const r = current(l);
      if (r) Object.assign(r, patch, { updatedAt: new Date() });
      return r !== null;
    },
    async release(l, patch = {}) {
      const r = current(l);
      if (r) Object.assign(r, patch, { leaseOwner: null, leaseUntil: null, leaseSince: null, updatedAt: new Date() });
      return r !== null;
    },
    async transition(items, now) {
      return items.map(({ customerId, expect, patch }) => {
        const r = rows.get(customerId);
        const same = r && (Object.keys(expect) as (keyof typeof expect)[]).every((k) => String(r[k]) === String(expect[k]));
        const free = r && (!r.leaseOwner || !r.leaseUntil || r.leaseUntil < now);
        if (!r || !same || !free) return false;
        Object.assign(r, patch, { updatedAt: new Date() });
        return true;
      });
    },
  };
  return { healthChecks, leases, checks };
}
