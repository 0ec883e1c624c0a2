import { ConflictError, NotFoundError } from "../../src/errors.js";
import { assertDedication, assertRoom, isLocked, liveError, lockedError, SETTLED_LIVE, slotTaken, subdomainTaken, usesMemory } from "../../src/store/claim-rules.js";
import type { EventRecord, HostRecord, InstanceRecord, Store } from "../../src/store/types.js";
import { memoryBackups } from "./memory-backups.js";
import { memoryCoordination } from "./memory-coordination.js";
import { memoryHealth } from "./memory-health.js";
import { memorySweeps } from "./memory-sweeps.js";

/** An in-memory Store with the same rules as the Prisma one, for fast app unit tests. */
type Coordination = ReturnType<typeof memoryCoordination>;

export function memoryStore(): Store & {
  eventsLog: EventRecord[];
  rows: Map<string, InstanceRecord>;
  checks: ReturnType<typeof memoryHealth>["checks"];
  backupRows: ReturnType<typeof memoryBackups>["backupRows"];
  slotRows: Coordination["slotRows"];
  keyRows: Coordination["keyRows"];
  sweepRows: ReturnType<typeof memorySweeps>["sweepRows"];
} {
  const hosts = new Map<string, HostRecord>();
  const rows = new Map<string, InstanceRecord>();
  const eventsLog: EventRecord[] = [];
  let seq = 0;
  const id = () => `id${++seq}`;
  const used = (hostId: string, except: string) =>
    new Set([...rows.values()].filter((r) => r.hostId === hostId && r.customerId !== except && r.portSlot !== null).map((r) => r.portSlot!));
  const lowest = (taken: Set<number>) => {
    let s = 0;
    while (taken.has(s)) s++;
    return s;
  };
  const mustRow = (c: string) => {
    const r = rows.get(c);
    if (!r) throw new NotFoundError(`no instance for customer ${c}`);
    return r;
  };
  const health = memoryHealth(hosts, rows, eventsLog);
  const backups = memoryBackups(rows);
  const coordination = memoryCoordination();
  const sweeping = memorySweeps();
  return {
    kind: "sqlite",
    eventsLog,
    rows,
    checks: health.checks,
    healthChecks: health.healthChecks,
    leases: health.leases,
    backups: backups.backups,
    backupRows: backups.backupRows,
    runSlots: coordination.runSlots,
    idempotency: coordination.idempotency,
    slotRows: coordination.slotRows,
    keyRows: coordination.keyRows,
    sweeps: sweeping.sweeps,
    sweepRows: sweeping.sweepRows,
    hosts: {
      async create(h) {
        if (hosts.has(h.name)) throw new ConflictError(`a host named ${h.name} already exists`);
        const rec: HostRecord = { status: "active", ...h, id: id(), createdAt: new Date() };
        hosts.set(h.name, rec);
        return rec;
      },
      get: async (n) => hosts.get(n) ?? null,
      getById: async (i) => [...hosts.values()].find((h) => h.id === i) ?? null,
      list: async () => [...hosts.values()].sort((a, b) => a.name.localeCompare(b.name)),
      async update(n, patch) {
        const h = hosts.get(n);
        if (!h) throw new NotFoundError(`no host named ${n}`);
        Object.assign(h, patch);
        return h;
      },
      async remove(n) {
        const h = hosts.get(n);
        if (!h) throw new NotFoundError(`no host named ${n}`);
        hosts.delete(n);
        coordination.dropHost(h.id);
      },
    },
    instances: {
      get: async (c) => rows.get(c) ?? null,
      list: async (f = {}) => [...rows.values()].filter((r) => (!f.hostId || r.hostId === f.hostId) && (!f.hostIds || f.hostIds.includes(r.hostId)) && (!f.plan || r.plan === f.plan) && (f.includeDestroyed || r.status !== "destroyed")),
      countLive: async (hostId) => [...rows.values()].filter((r) => r.hostId === hostId && r.status !== "destroyed").length,
      async usage() {
        const out = new Map<string, { usedMb: number; count: number }>();
        for (const r of [...rows.values()].filter(usesMemory)) {
          const u = out.get(r.hostId) ?? { usedMb: 0, count: 0 };
          out.set(r.hostId, { usedMb: u.usedMb + (r.memoryMb ?? 0), count: u.count + 1 });
        }
        return out;
      },
      async claim(input) {
        const host = [...hosts.values()].find((h) => h.id === input.hostId);
        if (!host) throw new NotFoundError(`no host with id ${input.hostId}`);
        const existing = rows.get(input.customerId);
        if (existing && SETTLED_LIVE.has(existing.status)) throw liveError(existing);
        if (existing && isLocked(existing, input.now, input.takeoverFrom)) throw lockedError(input.customerId, existing, input.now);
        const onHost = [...rows.values()].filter((r) => r.hostId === input.hostId && r.customerId !== input.customerId);
        assertDedication(onHost.filter((r) => r.status !== "destroyed"), input);
        if (input.capacityMb != null) assertRoom(host.name, input.needMb ?? 0, onHost.filter(usesMemory).reduce((n, r) => n + (r.memoryMb ?? 0), 0), input.capacityMb);
        const holder = input.subdomain ? [...rows.values()].find((r) => r.subdomain === input.subdomain && r.customerId !== input.customerId) : undefined;
        if (holder) throw subdomainTaken(input.subdomain!, holder.customerId);
        const taken = new Set([...used(input.hostId, input.customerId), ...(input.skipSlots ?? [])]);
        if (input.slot !== undefined && used(input.hostId, input.customerId).has(input.slot)) throw slotTaken(input.slot, onHost.find((r) => r.portSlot === input.slot)!.customerId);
        const keep = existing?.hostId === input.hostId && existing.portSlot !== null && !taken.has(existing.portSlot);
        const now = input.now;
        const rec: InstanceRecord = {
          ...(existing ?? blank(id(), input.customerId, now)),
          hostId: input.hostId, plan: input.plan, image: input.image, status: "provisioning", statusReason: null,
          portSlot: input.slot ?? (keep ? existing!.portSlot : lowest(taken)),
          ...(input.subdomain !== undefined ? { subdomain: input.subdomain } : {}),
          ...(input.needMb !== undefined ? { memoryMb: input.needMb } : {}),
          leaseOwner: input.leaseOwner, leaseUntil: new Date(now.getTime() + input.leaseMs), leaseSince: now, leaseFence: (existing?.leaseFence ?? 0) + 1,
        };
        rows.set(input.customerId, rec);
        return rec;
      },
      async reslot(c, skip) {
        const r = mustRow(c);
        r.portSlot = lowest(new Set([...used(r.hostId, c), ...skip]));
        return r;
      },
      async update(c, patch) {
        return Object.assign(mustRow(c), patch, { updatedAt: new Date() });
      },
    },
    events: {
      async record(e) {
        eventsLog.push({ ...e, id: id(), at: new Date() });
      },
      list: async (f = {}) =>
        [...eventsLog]
          .reverse()
          .filter((e) => (f.target === undefined || e.target === f.target) && (!f.targets || f.targets.includes(e.target)) && (!f.actionPrefix || e.action.startsWith(f.actionPrefix)))
          .filter((e) => !f.since || e.at >= f.since)
          .sort((x, y) => y.at.getTime() - x.at.getTime())
          .slice(0, f.limit ?? 100),
    },
    close: async () => {},
  };
}

function blank(id: string, customerId: string, now: Date): InstanceRecord {
  return {
    id, customerId, hostId: "", plan: "", status: "provisioning", statusReason: null, image: "", configHash: null, portSlot: null,
    tokenHash: null, apiKeyFingerprint: null, subdomain: null, expiresAt: null, consecutiveFailures: 0, restartCount: 0,
    lastRestartAt: null, restartWindowAt: null, quarantinedAt: null, lastHealthAt: null, leaseOwner: null, leaseUntil: null, leaseSince: null, leaseFence: 0, memoryMb: null, containerLeft: false, createdAt: now, updatedAt: now,
  };
}
