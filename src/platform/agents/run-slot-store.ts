/** What an acquire found: the slot taken, or all of them held (with how many are). */
export interface SlotGrant {
  readonly granted: boolean;
  /** Unexpired slots of the tenant after the call, this one included when granted. */
  readonly inFlight: number;
}

/**
 * A tenant's run slots, shared by every replica. A slot carries its own
 * expiry, so a replica that dies with slots taken holds them no longer than
 * one run's worst case. Implementations are atomic per call.
 */
export interface RunSlotStore {
  /** Drops expired slots, then takes `slotId` for `holdMs` unless `limit` slots are held. */
  acquire(tenantId: string, slotId: string, limit: number, holdMs: number): Promise<SlotGrant>;
  /** Gives the slot back; a slot already expired or released is no error. */
  release(tenantId: string, slotId: string): Promise<void>;
}

export const RUN_SLOT_STORE = Symbol('RUN_SLOT_STORE');
