import type { BudgetPeriod } from '../../observability/catalog';
import type { PeriodWindow } from './budget-period';

export interface LedgerEntry {
  /** Tokens settled (real usage). */
  used: number;
  /** Tokens reserved by calls still in flight. */
  reserved: number;
}

/**
 * One model call's claim: its prompt estimate, and room for an answer of at
 * most `maxOutputTokens`, cut to what every window has left; below
 * `minOutputTokens` the call is refused.
 */
export interface ReserveRequest {
  /** Unique per call: settle() names it, so a retried settle counts once. */
  readonly id: string;
  readonly promptTokens: number;
  readonly maxOutputTokens: number;
  readonly minOutputTokens: number;
  /** Epoch ms after which the reservation no longer holds budget, settled or not. */
  readonly expiresAt: number;
  /** Epoch ms, the time expiries are compared with. */
  readonly now: number;
}

export type ReserveResult = { ok: true; outputBound: number } | { ok: false; period: BudgetPeriod };

export interface Settlement {
  /** The reservation's id. */
  readonly id: string;
  /** Tokens the call really used (0 releases the reservation). */
  readonly actual: number;
  readonly now: number;
}

/** `duplicate`: the reservation was settled before (a retry whose first try got through). */
export type SettleResult = 'settled' | 'duplicate';

/**
 * One ledger per tenant and period window. Implementations are atomic per
 * call: a reservation either fits in every window or changes nothing. Each
 * reservation carries its own expiry: one whose settle is lost stops holding
 * budget then, and every reserve or read of the tenant releases the expired.
 */
export interface BudgetStore {
  reserve(
    tenantId: string,
    windows: readonly WindowLimit[],
    request: ReserveRequest,
  ): Promise<ReserveResult>;
  /** Idempotent per reservation id; a reservation that expired first still adds its usage. */
  settle(
    tenantId: string,
    windows: readonly PeriodWindow[],
    settlement: Settlement,
  ): Promise<SettleResult>;
  /** The tenant's ledger, expired reservations released first. */
  read(tenantId: string, windows: readonly PeriodWindow[], now: number): Promise<LedgerEntry[]>;
  /** read() for many tenants in one round trip (the per-scrape gauges, which show `used` only). */
  readMany(
    tenantIds: readonly string[],
    windows: readonly PeriodWindow[],
  ): Promise<LedgerEntry[][]>;
  /**
   * Records that the tenant has usage in each window, with its limits:
   * the first time keeps its place (the order of first usage), later calls
   * only update the limit. Shared by every replica, like the ledger.
   */
  noteUsage(
    tenantId: string,
    windows: readonly PeriodWindow[],
    limits: Readonly<Record<BudgetPeriod, number>>,
    at: Date,
  ): Promise<void>;
  /** The tenants with usage in a window, in the order they first had some. */
  tenantsWithUsage(window: PeriodWindow): Promise<TenantWithUsage[]>;
}

export interface TenantWithUsage {
  tenantId: string;
  /** Its limits when its usage was last noted. */
  limits: Readonly<Record<BudgetPeriod, number>>;
}

export interface WindowLimit extends PeriodWindow {
  limit: number;
}

export const BUDGET_STORE = Symbol('BUDGET_STORE');

/**
 * How long a settled or expired reservation is remembered, so a settle
 * retried within it counts once. Settles are retried for less than this.
 */
export const RESERVATION_RECORD_RETENTION_MS = 2 * 60 * 60 * 1000;
