import { Inject, Injectable, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { BudgetReading } from '../../observability/catalog';
import { BudgetObserver } from '../../observability/observers';
import { currentWindows, PeriodWindow } from './budget-period';
import { BUDGET_STORE, RESERVATION_RECORD_RETENTION_MS } from './budget-store';
import type { BudgetStore, LedgerEntry } from './budget-store';
import { BudgetExceededError, BudgetUnavailableError } from './budget.errors';
import { PendingSettles } from './pending-settles';

export interface TenantLimits {
  daily: number;
  monthly: number;
}

/** What one model call asks the budget for. */
export interface ReservationRequest {
  /** The estimate of the prompt (messages and tool schemas). */
  readonly promptTokens: number;
  /** The most the answer may take (the agent's max_output_tokens). */
  readonly maxOutputTokens: number;
  /** The call's worst case plus a margin: past it the reservation holds nothing, settled or not. */
  readonly ttlMs: number;
}

/** Tokens held for one model call between reserve and settle. */
export interface Reservation {
  readonly id: string;
  readonly tenantId: string;
  readonly limits: TenantLimits;
  readonly windows: readonly PeriodWindow[];
  /** promptTokens + outputBound: what the ledger holds for the call. */
  readonly amount: number;
  /** The answer's cap, sent as max_tokens: what every period has left after the prompt, at most maxOutputTokens. */
  readonly outputBound: number;
}

/** What a finished (or failed) call consumed, as the proxy reported or the runner decided. */
export interface CallUsage {
  readonly totalTokens: number;
  readonly completionTokens: number;
  /** The model that answered, for the overrun count. */
  readonly model: string;
}

/**
 * A call whose answer could be shorter than this is not worth sending: it is
 * refused as budget_exceeded before it goes out.
 */
export const MIN_OUTPUT_TOKENS = 16;

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

/** How long shutdown waits for the last tries of pending settles. */
const SHUTDOWN_SETTLE_BOUND_MS = 2000;

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
  private readonly pending: PendingSettles;

  constructor(
    @Inject(BUDGET_STORE) private readonly store: BudgetStore,
    private readonly observer: BudgetObserver,
    @Optional() @Inject(BUDGET_CLOCK) clock?: () => Date,
  ) {
    this.clock = clock ?? (() => new Date());
    this.pending = new PendingSettles(
      (reservation, actual) => this.sendSettle(reservation, actual),
      observer,
      // Retried for less than the ledger remembers settles, so a retry never counts twice.
      RESERVATION_RECORD_RETENTION_MS / 2,
    );
  }

  /** Every scrape rebuilds the budget gauges from the shared ledger. */
  onModuleInit(): void {
    this.observer.readLedgerWith(() => this.snapshot());
  }

  /** Runs after the drain: the settles still pending get one last try, bounded. */
  async onApplicationShutdown(): Promise<void> {
    this.observer.readLedgerWith(undefined);
    await this.pending.flush(SHUTDOWN_SETTLE_BOUND_MS);
  }

  /**
   * Reserves the prompt estimate plus the largest answer every period can
   * still pay for (at most maxOutputTokens), in all periods or none, so
   * concurrent calls can never jointly pass a limit.
   * @throws BudgetExceededError when some period cannot cover the prompt and MIN_OUTPUT_TOKENS
   * @throws BudgetUnavailableError when the ledger is down
   */
  async reserve(
    tenantId: string,
    limits: TenantLimits,
    request: ReservationRequest,
    now = this.clock(),
  ): Promise<Reservation> {
    const windows = currentWindows(now);
    const withLimits = windows.map((window) => ({ ...window, limit: limits[window.period] }));
    const id = randomUUID();
    const promptTokens = Math.max(0, Math.ceil(request.promptTokens));
    const result = await this.guard(() =>
      this.store.reserve(tenantId, withLimits, {
        id,
        promptTokens,
        maxOutputTokens: Math.max(MIN_OUTPUT_TOKENS, Math.floor(request.maxOutputTokens)),
        minOutputTokens: MIN_OUTPUT_TOKENS,
        expiresAt: now.getTime() + request.ttlMs,
        now: now.getTime(),
      }),
    );
    // A tenant refused is one whose budget the gauges must show too.
    await this.noteUsage(tenantId, windows, limits, now);
    if (!result.ok) {
      const window = windows.find((w) => w.period === result.period) ?? windows[0];
      this.observer.refused({
        period: result.period,
        requestedTokens: promptTokens + MIN_OUTPUT_TOKENS,
        resetsAt: window.resetsAt,
      });
      throw new BudgetExceededError(result.period, window.resetsAt);
    }
    return {
      id,
      tenantId,
      limits,
      windows,
      amount: promptTokens + result.outputBound,
      outputBound: result.outputBound,
    };
  }

  /**
   * Replaces the reservation by the real usage (0 releases it). Never throws:
   * a ledger that cannot answer gets the settle again in the background until
   * it does (a settle counts once, however often it is sent), and meanwhile
   * the reservation's own expiry bounds what it holds.
   */
  async settle(reservation: Reservation, usage: CallUsage): Promise<void> {
    const actual = Math.max(0, Math.round(usage.totalTokens));
    if (usage.completionTokens > reservation.outputBound) {
      this.observer.overrun({
        tenantId: reservation.tenantId,
        model: usage.model,
        boundTokens: reservation.outputBound,
        completionTokens: usage.completionTokens,
      });
    }
    try {
      await this.sendSettle(reservation, actual);
    } catch (error) {
      this.pending.add(reservation, actual, error);
    }
  }

  /** Settles still waiting for the ledger (shown in tests and at shutdown). */
  get pendingSettles(): number {
    return this.pending.size;
  }

  private sendSettle(reservation: Reservation, actual: number): Promise<unknown> {
    return this.store.settle(reservation.tenantId, reservation.windows, {
      id: reservation.id,
      actual,
      now: this.clock().getTime(),
    });
  }

  async status(tenantId: string, limits: TenantLimits, now = this.clock()): Promise<BudgetStatus> {
    const windows = currentWindows(now);
    const entries = await this.guard(() => this.store.read(tenantId, windows, now.getTime()));
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
