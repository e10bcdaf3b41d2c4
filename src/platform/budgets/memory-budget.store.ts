import type {
  BudgetStore,
  LedgerEntry,
  ReserveResult,
  TenantWithUsage,
  WindowLimit,
} from './budget-store';
import type { PeriodWindow } from './budget-period';

/**
 * The ledger in this process, for a single replica without REDIS_URL.
 * Single-threaded JavaScript makes each method atomic; old windows are
 * dropped as new ones appear.
 */
export class MemoryBudgetStore implements BudgetStore {
  private readonly ledgers = new Map<string, LedgerEntry & { expiresAt: number }>();
  /** Per window: tenant → limits, in insertion (first usage) order. */
  private readonly indexes = new Map<
    string,
    { expiresAt: number; tenants: Map<string, TenantWithUsage['limits']> }
  >();

  reserve(
    tenantId: string,
    windows: readonly WindowLimit[],
    amount: number,
  ): Promise<ReserveResult> {
    this.prune();
    for (const window of windows) {
      const entry = this.entry(tenantId, window);
      if (entry.used + entry.reserved + amount > window.limit) {
        return Promise.resolve({ ok: false, period: window.period });
      }
    }
    for (const window of windows) this.entry(tenantId, window).reserved += amount;
    return Promise.resolve({ ok: true });
  }

  settle(
    tenantId: string,
    windows: readonly PeriodWindow[],
    reserved: number,
    actual: number,
  ): Promise<void> {
    for (const window of windows) {
      const entry = this.entry(tenantId, window);
      entry.reserved = Math.max(0, entry.reserved - reserved);
      entry.used += actual;
    }
    return Promise.resolve();
  }

  read(tenantId: string, windows: readonly PeriodWindow[]): Promise<LedgerEntry[]> {
    return Promise.resolve(
      windows.map((window) => {
        const entry = this.ledgers.get(key(tenantId, window));
        return { used: entry?.used ?? 0, reserved: entry?.reserved ?? 0 };
      }),
    );
  }

  async readMany(
    tenantIds: readonly string[],
    windows: readonly PeriodWindow[],
  ): Promise<LedgerEntry[][]> {
    return Promise.all(tenantIds.map((tenantId) => this.read(tenantId, windows)));
  }

  noteUsage(
    tenantId: string,
    windows: readonly PeriodWindow[],
    limits: TenantWithUsage['limits'],
    _at: Date,
  ): Promise<void> {
    for (const window of windows) {
      const id = windowKey(window);
      let index = this.indexes.get(id);
      if (!index) {
        index = { expiresAt: window.resetsAt.getTime(), tenants: new Map() };
        this.indexes.set(id, index);
      }
      // Map.set keeps an existing key's place: the order stays that of first usage.
      index.tenants.set(tenantId, { ...limits });
    }
    return Promise.resolve();
  }

  tenantsWithUsage(window: PeriodWindow): Promise<TenantWithUsage[]> {
    this.prune();
    const index = this.indexes.get(windowKey(window));
    return Promise.resolve(
      [...(index?.tenants ?? [])].map(([tenantId, tenantLimits]) => ({
        tenantId,
        limits: tenantLimits,
      })),
    );
  }

  private entry(tenantId: string, window: PeriodWindow): LedgerEntry & { expiresAt: number } {
    const k = key(tenantId, window);
    let entry = this.ledgers.get(k);
    if (!entry) {
      entry = { used: 0, reserved: 0, expiresAt: window.resetsAt.getTime() };
      this.ledgers.set(k, entry);
    }
    return entry;
  }

  private prune(): void {
    const now = Date.now();
    for (const [k, entry] of this.ledgers) if (entry.expiresAt <= now) this.ledgers.delete(k);
    for (const [k, index] of this.indexes) if (index.expiresAt <= now) this.indexes.delete(k);
  }
}

function key(tenantId: string, window: PeriodWindow): string {
  return `${tenantId}:${window.period}:${window.id}`;
}

function windowKey(window: PeriodWindow): string {
  return `${window.period}:${window.id}`;
}
