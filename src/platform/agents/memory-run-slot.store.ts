import type { RunSlotStore, SlotGrant } from './run-slot-store';

/**
 * Run slots in this process, for a single replica without REDIS_URL.
 * Single-threaded JavaScript makes each method atomic.
 */
export class MemoryRunSlotStore implements RunSlotStore {
  /** Tenant → slot id → expiry (ms epoch); a tenant with no slot left has no entry. */
  private readonly slots = new Map<string, Map<string, number>>();

  constructor(private readonly now: () => number = Date.now) {}

  acquire(tenantId: string, slotId: string, limit: number, holdMs: number): Promise<SlotGrant> {
    const now = this.now();
    const held = this.slots.get(tenantId) ?? new Map<string, number>();
    for (const [id, expiresAt] of held) if (expiresAt <= now) held.delete(id);
    if (held.size >= limit) {
      this.keep(tenantId, held);
      return Promise.resolve({ granted: false, inFlight: held.size });
    }
    held.set(slotId, now + holdMs);
    this.slots.set(tenantId, held);
    return Promise.resolve({ granted: true, inFlight: held.size });
  }

  release(tenantId: string, slotId: string): Promise<void> {
    const held = this.slots.get(tenantId);
    held?.delete(slotId);
    if (held) this.keep(tenantId, held);
    return Promise.resolve();
  }

  private keep(tenantId: string, held: Map<string, number>): void {
    if (held.size === 0) this.slots.delete(tenantId);
    else this.slots.set(tenantId, held);
  }
}
