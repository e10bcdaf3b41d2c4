import { Inject, Injectable, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import type { BudgetReading } from '../../observability/catalog';
import { BudgetObserver } from '../../observability/observers';
import { currentWindows, PeriodWindow } from './budget-period';
import { BUDGET_STORE } from './budget-store';
import type { BudgetStore, LedgerEntry } from './budget-store';
import { BudgetExceededError, BudgetUnavailableError } from './budget.errors';

export interface TenantLimits {
  daily: number;
  monthly: number;
}

/** Tokens held for one model call between reserve and settle. */
export interface Reservation {
  readonly tenantId: string;
  readonly limits: TenantLimits;
  readonly windows: readonly PeriodWindow[];
  readonly amount: number;
}

export interface PeriodStatus {
  limit: number;
  used: number;
  remaining: number;
  resets_at: string;
}

export interface BudgetStatus {
  tenant_id: string;
  daily: PeriodStatus;
  monthly: PeriodStatus;
}

/** The time the budget windows are read at (tests move it across a UTC midnight). */
export const BUDGET_CLOCK = Symbol('BUDGET_CLOCK');

/** Tenants this process remembers having noted in the ledger's index; past it, it simply notes again. */
const MAX_NOTED_TENANTS = 100_000;

/**
 * One ledger per tenant and period. Before each model call an estimate is
 * reserved (all periods or none); after it the reservation is settled to the
 * real usage. Enforcement, GET /v1/budget and the budget gauges all read the
 * same ledger, so they cannot disagree.
 */
@Injectable()
export class TokenBudgetService implements OnModuleInit, OnApplicationShutdown {
  /** Tenant → the windows whose usage index already has it, so each is noted once a window. */
  private readonly noted = new Map<string, string>();
  private readonly clock: () => Date;

  constructor(
    @Inject(BUDGET_STORE) private readonly store: BudgetStore,
    private readonly observer: BudgetObserver,
    @Optional() @Inject(BUDGET_CLOCK) clock?: () => Date,
  ) {
    this.clock = clock ?? (() => new Date());
  }

  /** Every scrape rebuilds the budget gauges from the shared ledger. */
  onModuleInit(): void {
    this.observer.readLedgerWith(() => this.snapshot());
  }

  onApplicationShutdown(): void {
    this.observer.readLedgerWith(undefined);
  }

  /** Throws BudgetExceededError when any period cannot cover `amount`, BudgetUnavailableError when the ledger is down. */
  async reserve(
    tenantId: string,
    limits: TenantLimits,
    amount: number,
    now = this.clock(),
  ): Promise<Reservation> {
    const windows = currentWindows(now);
    const withLimits = windows.map((window) => ({ ...window, limit: limits[window.period] }));
    const result = await this.guard(() => this.store.reserve(tenantId, withLimits, amount));
    // A tenant refused is one whose budget the gauges must show too.
    await this.noteUsage(tenantId, windows, limits, now);
    if (!result.ok) {
      const window = windows.find((w) => w.period === result.period) ?? windows[0];
      this.observer.refused({
        period: result.period,
        requestedTokens: amount,
        resetsAt: window.resetsAt,
      });
      throw new BudgetExceededError(result.period, window.resetsAt);
    }
    return { tenantId, limits, windows, amount };
  }

  /** Replaces the reservation by the real usage (0 releases it). */
  async settle(reservation: Reservation, actualTokens: number): Promise<void> {
    const actual = Math.max(0, Math.round(actualTokens));
    await this.guard(() =>
      this.store.settle(reservation.tenantId, reservation.windows, reservation.amount, actual),
    );
  }

  async status(tenantId: string, limits: TenantLimits, now = this.clock()): Promise<BudgetStatus> {
    const windows = currentWindows(now);
    const entries = await this.guard(() => this.store.read(tenantId, windows));
    const [daily, monthly] = windows.map((window, i) =>
      periodStatus(limits[window.period], entries[i], window),
    );
    return { tenant_id: tenantId, daily, monthly };
  }

  /**
   * The budget gauges, read from the shared ledger for the current windows:
   * every tenant with usage this month, each period in the order the gauges
   * give out their tenant slots. Monthly: the order of first usage this
   * month. Daily: the tenants with usage today in the order of their first
   * usage today, then this month's others (their day reads 0 used). So the
   * first tenants of a period keep their slots for the whole period, whoever
   * is busier later, and a new day gives the slots out anew.
   */
  async snapshot(now = this.clock()): Promise<BudgetReading[]> {
    const [daily, monthly] = currentWindows(now);
    const [today, thisMonth] = await Promise.all([
      this.store.tenantsWithUsage(daily),
      this.store.tenantsWithUsage(monthly),
    ]);
    const tenants = thisMonth.map((tenant) => tenant.tenantId);
    const ledgers = await this.store.readMany(tenants, [daily, monthly]);
    const ledgerOf = new Map(tenants.map((tenantId, i) => [tenantId, ledgers[i]]));
    const todayIds = new Set(today.map((tenant) => tenant.tenantId));
    const dailyOrder = [
      ...today.filter((tenant) => ledgerOf.has(tenant.tenantId)),
      ...thisMonth.filter((tenant) => !todayIds.has(tenant.tenantId)),
    ];
    return [
      ...dailyOrder.map((tenant) =>
        reading(tenant.tenantId, 'daily', tenant.limits.daily, ledgerOf.get(tenant.tenantId)![0]),
      ),
      ...thisMonth.map((tenant) =>
        reading(
          tenant.tenantId,
          'monthly',
          tenant.limits.monthly,
          ledgerOf.get(tenant.tenantId)![1],
        ),
      ),
    ];
  }

  /** Notes the tenant in each window's usage index, once a window in this process. */
  private async noteUsage(
    tenantId: string,
    windows: readonly PeriodWindow[],
    limits: TenantLimits,
    now: Date,
  ): Promise<void> {
    const windowIds = windows.map((window) => `${window.period}:${window.id}`).join('|');
    if (this.noted.get(tenantId) === windowIds) return;
    try {
      await this.store.noteUsage(tenantId, windows, limits, now);
    } catch {
      // The gauges miss the tenant until its next call notes it again; enforcement is unaffected.
      return;
    }
    if (this.noted.size >= MAX_NOTED_TENANTS) this.noted.clear();
    this.noted.set(tenantId, windowIds);
  }

  private async guard<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw new BudgetUnavailableError(error);
    }
  }
}

function periodStatus(limit: number, entry: LedgerEntry, window: PeriodWindow): PeriodStatus {
  return {
    limit,
    used: entry.used,
    remaining: Math.max(0, limit - entry.used),
    resets_at: window.resetsAt.toISOString(),
  };
}

function reading(
  tenantId: string,
  period: 'daily' | 'monthly',
  limit: number,
  entry: LedgerEntry,
): BudgetReading {
  return { tenantId, period, limit, used: entry.used, remaining: Math.max(0, limit - entry.used) };
}
