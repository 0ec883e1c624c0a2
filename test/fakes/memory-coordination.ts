import type { IdempotencyRecord, IdempotencyRepo, RunSlotHolder, RunSlotRepo } from "../../src/store/coordination-types.js";

/** In-memory RunSlotRepo and IdempotencyRepo with the Prisma versions' rules. */
export function memoryCoordination() {
  // Keyed `${hostId}/${slot}`, as the table's composite primary key.
  const slotRows = new Map<string, RunSlotHolder>();
  const keyRows = new Map<string, IdempotencyRecord>();
  const at = (hostId: string, slot: number) => `${hostId}/${slot}`;
  const mine = (hostId: string, slot: number, owner: string) => {
    const r = slotRows.get(at(hostId, slot));
    return r && r.owner === owner ? r : null;
  };
  const runSlots: RunSlotRepo = {
    async tryAcquire({ hostId, limit, owner, label, ttlMs, now }) {
      for (let slot = 0; slot < limit; slot++) {
        const r = slotRows.get(at(hostId, slot));
        if (r && r.until >= now) continue;
        const until = new Date(now.getTime() + ttlMs);
        slotRows.set(at(hostId, slot), { hostId, slot, owner, label: label ?? null, since: now, until });
        return { slot, until };
      }
      return null;
    },
    async renew(hostId, slot, owner, until) {
      const r = mine(hostId, slot, owner);
      if (r) r.until = until;
      return r !== null;
    },
    async release(hostId, slot, owner) {
      if (mine(hostId, slot, owner)) slotRows.delete(at(hostId, slot));
    },
    holders: async (hostId, now) =>
      [...slotRows.values()].filter((r) => r.hostId === hostId && r.until >= now).sort((a, b) => a.slot - b.slot).map((r) => ({ ...r })),
    async evict(hostId, slot, owner) {
      return mine(hostId, slot, owner) !== null && slotRows.delete(at(hostId, slot));
    },
  };
  const running = (key: string, owner: string) => {
    const r = keyRows.get(key);
    return r && r.owner === owner && r.status === "running" ? r : null;
  };
  const idempotency: IdempotencyRepo = {
    async begin({ key, operation, requestHash, customerId, owner, ttlMs, now }) {
      const found = keyRows.get(key);
      if (found) return { inserted: false, record: { ...found } };
      const record: IdempotencyRecord = { key, operation, requestHash, customerId, status: "running", result: null, owner, until: new Date(now.getTime() + ttlMs), createdAt: now, updatedAt: now };
      keyRows.set(key, record);
      return { inserted: true, record: { ...record } };
    },
    async takeover(key, expect, owner, until) {
      const r = keyRows.get(key);
      if (!r || r.owner !== expect.owner || r.status !== expect.status) return false;
      Object.assign(r, { status: "running", owner, until, result: null, updatedAt: new Date() });
      return true;
    },
    async renew(key, owner, until) {
      const r = running(key, owner);
      if (r) Object.assign(r, { until, updatedAt: new Date() });
      return r !== null;
    },
    async finish(key, owner, status, result) {
      const r = running(key, owner);
      if (r) Object.assign(r, { status, result, updatedAt: new Date() });
      return r !== null;
    },
    get: async (key) => {
      const r = keyRows.get(key);
      return r ? { ...r } : null;
    },
  };
  /** Host removal cascades to its run slots, as the foreign key does. */
  const dropHost = (hostId: string) => {
    for (const [k, r] of slotRows) if (r.hostId === hostId) slotRows.delete(k);
  };
  return { runSlots, idempotency, slotRows, keyRows, dropHost };
}
