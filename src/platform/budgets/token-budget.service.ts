import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG } from '../../config';
import type { AppConfig } from '../../config';
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

/** How long a tenant stays in the per-scrape budget gauges after its last activity. */
const RECENT_TENANT_MS = 24 * 60 * 60 * 1000;

/**
 * One ledger per tenant and period. Before each model call an estimate is
 * reserved (all periods or none); after it the reservation is settled to the
 * real usage. Enforcement, GET /v1/budget and the budget gauges all read the
 * same ledger, so they cannot disagree.
 */
@Injectable()
export class TokenBudgetService implements OnModuleInit, OnApplicationShutdown {
  private readonly recentTenants = new Map<string, { limits: TenantLimits; seenAt: number }>();
  private readonly maxTrackedTenants: number;

  constructor(
    @Inject(BUDGET_STORE) private readonly store: BudgetStore,
    private readonly observer: BudgetObserver,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.maxTrackedTenants = config.metrics.maxTenants;
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
    now = new Date(),
  ): Promise<Reservation> {
    this.touch(tenantId, limits);
    const windows = currentWindows(now);
    const withLimits = windows.map((window) => ({ ...window, limit: limits[window.period] }));
    const result = await this.guard(() => this.store.reserve(tenantId, withLimits, amount));
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

  /** Replaces the reservation by the real usage (0 releases it) and refreshes the budget gauges. */
  async settle(reservation: Reservation, actualTokens: number): Promise<void> {
    const actual = Math.max(0, Math.round(actualTokens));
    await this.guard(() =>
      this.store.settle(reservation.tenantId, reservation.windows, reservation.amount, actual),
    );
    try {
      const entries = await this.store.read(reservation.tenantId, reservation.windows);
      this.observer.settled(
        toReadings(reservation.tenantId, reservation.limits, reservation.windows, entries),
      );
    } catch {
      // The gauges refresh on the next scrape; the settle itself succeeded.
    }
  }

  async status(tenantId: string, limits: TenantLimits, now = new Date()): Promise<BudgetStatus> {
    this.touch(tenantId, limits);
    const windows = currentWindows(now);
    const entries = await this.guard(() => this.store.read(tenantId, windows));
    const [daily, monthly] = windows.map((window, i) =>
      periodStatus(limits[window.period], entries[i], window),
    );
    return { tenant_id: tenantId, daily, monthly };
  }

  /**
   * The budget gauges for every recently active tenant, read from the shared
   * ledger for the current windows: a new period reads zero at once, and every
   * replica reports the same numbers.
   */
  async snapshot(now = new Date()): Promise<BudgetReading[]> {
    const cutoff = now.getTime() - RECENT_TENANT_MS;
    const windows = currentWindows(now);
    for (const [tenantId, { seenAt }] of this.recentTenants) {
      if (seenAt < cutoff) this.recentTenants.delete(tenantId);
    }
    const tenants = [...this.recentTenants];
    const ledgers = await this.store.readMany(
      tenants.map(([tenantId]) => tenantId),
      windows,
    );
    return tenants.flatMap(([tenantId, { limits }], i) =>
      toReadings(tenantId, limits, windows, ledgers[i]),
    );
  }

  private touch(tenantId: string, limits: TenantLimits): void {
    this.recentTenants.delete(tenantId);
    this.recentTenants.set(tenantId, { limits, seenAt: Date.now() });
    // Map keeps insertion order: the first key is the least recently seen.
    while (this.recentTenants.size > this.maxTrackedTenants) {
      const oldest = this.recentTenants.keys().next().value;
      if (oldest === undefined) break;
      this.recentTenants.delete(oldest);
    }
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

function toReadings(
  tenantId: string,
  limits: TenantLimits,
  windows: readonly PeriodWindow[],
  entries: LedgerEntry[],
): BudgetReading[] {
  return windows.map((window, i) => ({
    tenantId,
    period: window.period,
    limit: limits[window.period],
    used: entries[i].used,
    remaining: Math.max(0, limits[window.period] - entries[i].used),
  }));
}
