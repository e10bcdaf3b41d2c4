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
}

export interface WindowLimit extends PeriodWindow {
  limit: number;
}

export const BUDGET_STORE = Symbol('BUDGET_STORE');
