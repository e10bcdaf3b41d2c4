import type { BudgetPeriod } from '../../observability/catalog';
import type { PeriodWindow } from './budget-period';

export interface LedgerEntry {
  /** Tokens settled (real usage). */
  used: number;
  /** Tokens reserved by calls still in flight. */
  reserved: number;
}

export type ReserveResult = { ok: true } | { ok: false; period: BudgetPeriod };

/**
 * One ledger per tenant and period window. Implementations are atomic per
 * call: a reservation either fits in every window or changes nothing.
 */
export interface BudgetStore {
  reserve(
    tenantId: string,
    windows: readonly WindowLimit[],
    amount: number,
  ): Promise<ReserveResult>;
  settle(
    tenantId: string,
    windows: readonly PeriodWindow[],
    reserved: number,
    actual: number,
  ): Promise<void>;
  read(tenantId: string, windows: readonly PeriodWindow[]): Promise<LedgerEntry[]>;
  /** read() for many tenants in one round trip (the per-scrape gauges). */
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
