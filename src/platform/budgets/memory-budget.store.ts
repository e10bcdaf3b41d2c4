import { RESERVATION_RECORD_RETENTION_MS } from './budget-store';
import type {
  BudgetStore,
  LedgerEntry,
  ReserveRequest,
  ReserveResult,
  Settlement,
  SettleResult,
  TenantWithUsage,
  WindowLimit,
} from './budget-store';
import type { PeriodWindow } from './budget-period';

/** A reservation's record, as the Redis store keeps it: live (with what it holds), settled or expired. */
type ReservationRecord =
  | { state: 'live'; amount: number; windows: readonly string[]; dueAt: number }
  | { state: 'settled' | 'expired'; dueAt: number };

/**
 * The ledger in this process, for a single replica without REDIS_URL, with
 * the Redis store's semantics (reservations that expire, settles counted
 * once). Single-threaded JavaScript makes each method atomic; old windows are
 * dropped as new ones appear.
 */
export class MemoryBudgetStore implements BudgetStore {
  private readonly ledgers = new Map<string, LedgerEntry & { expiresAt: number }>();
  /** Per tenant: reservation id → record. */
  private readonly reservations = new Map<string, Map<string, ReservationRecord>>();
  /** Per window: tenant → limits, in insertion (first usage) order. */
  private readonly indexes = new Map<
    string,
    { expiresAt: number; tenants: Map<string, TenantWithUsage['limits']> }
  >();

  reserve(
    tenantId: string,
    windows: readonly WindowLimit[],
    request: ReserveRequest,
  ): Promise<ReserveResult> {
    this.prune();
    this.reclaim(tenantId, request.now);
    let bound = request.maxOutputTokens;
    let tightest = windows[0];
    for (const window of windows) {
      const entry = this.entry(tenantId, window);
      const room = window.limit - entry.used - entry.reserved - request.promptTokens;
      if (room < bound) [bound, tightest] = [room, window];
    }
    if (bound < request.minOutputTokens) {
      return Promise.resolve({ ok: false, period: tightest.period });
    }
    const amount = request.promptTokens + bound;
    for (const window of windows) this.entry(tenantId, window).reserved += amount;
    this.book(tenantId).set(request.id, {
      state: 'live',
      amount,
      windows: windows.map(windowKey),
      dueAt: request.expiresAt,
    });
    return Promise.resolve({ ok: true, outputBound: bound });
  }

  settle(
    tenantId: string,
    windows: readonly PeriodWindow[],
    settlement: Settlement,
  ): Promise<SettleResult> {
    this.reclaim(tenantId, settlement.now);
    const book = this.book(tenantId);
    const record = book.get(settlement.id);
    if (record?.state === 'settled') return Promise.resolve('duplicate');
    if (record?.state === 'live') this.release(tenantId, record);
    for (const window of windows) {
      this.entry(tenantId, window).used += Math.max(0, Math.round(settlement.actual));
    }
    book.set(settlement.id, {
      state: 'settled',
      dueAt: settlement.now + RESERVATION_RECORD_RETENTION_MS,
    });
    return Promise.resolve('settled');
  }

  read(tenantId: string, windows: readonly PeriodWindow[], now: number): Promise<LedgerEntry[]> {
    this.reclaim(tenantId, now);
    return Promise.resolve(this.peek(tenantId, windows));
  }

  async readMany(
    tenantIds: readonly string[],
    windows: readonly PeriodWindow[],
  ): Promise<LedgerEntry[][]> {
    return Promise.resolve(tenantIds.map((tenantId) => this.peek(tenantId, windows)));
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

  private peek(tenantId: string, windows: readonly PeriodWindow[]): LedgerEntry[] {
    return windows.map((window) => {
      const entry = this.ledgers.get(key(tenantId, window));
      return { used: entry?.used ?? 0, reserved: entry?.reserved ?? 0 };
    });
  }

  private book(tenantId: string): Map<string, ReservationRecord> {
    let book = this.reservations.get(tenantId);
    if (!book) {
      book = new Map();
      this.reservations.set(tenantId, book);
    }
    return book;
  }

  /** Live records past their expiry give their budget back; others past their retention are forgotten. */
  private reclaim(tenantId: string, now: number): void {
    const book = this.reservations.get(tenantId);
    if (!book) return;
    for (const [id, record] of book) {
      if (record.dueAt > now) continue;
      if (record.state === 'live') {
        this.release(tenantId, record);
        book.set(id, { state: 'expired', dueAt: now + RESERVATION_RECORD_RETENTION_MS });
      } else {
        book.delete(id);
      }
    }
    if (book.size === 0) this.reservations.delete(tenantId);
  }

  private release(tenantId: string, record: { amount: number; windows: readonly string[] }): void {
    for (const window of record.windows) {
      const entry = this.ledgers.get(`${tenantId}:${window}`);
      if (entry) entry.reserved = Math.max(0, entry.reserved - record.amount);
    }
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
