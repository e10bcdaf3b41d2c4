import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { BUDGET_STORE } from '../../../src/platform/budgets/budget-store';
import type { BudgetStore } from '../../../src/platform/budgets/budget-store';
import { MemoryBudgetStore } from '../../../src/platform/budgets/memory-budget.store';
import { RedisBudgetStore } from '../../../src/platform/budgets/redis-budget.store';
import {
  BUDGET_CLOCK,
  TokenBudgetService,
} from '../../../src/platform/budgets/token-budget.service';
import { sampleValue, samplesOf } from '../../helpers/metrics';
import type { Sample } from '../../helpers/metrics';
import { startObservedModule } from '../../helpers/observability';
import type { ObservedModule } from '../../helpers/observability';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Noon of today (UTC), so a day later is tomorrow whatever the hour the suite runs at. */
function todayAtNoon(): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 12));
}

describe.each([
  ['the Redis ledger', 'redis'],
  ['the in-process ledger', 'memory'],
] as const)('budget gauges on %s, METRICS_MAX_TENANTS=2', (_name, kind) => {
  let redis: Redis | undefined;
  let prefix: string;
  let observed: ObservedModule;
  let budgets: TokenBudgetService;
  let clock: Date;

  const limits = { low: { daily: 3000, monthly: 100_000 }, big: { daily: 1e6, monthly: 1e7 } };

  beforeAll(async () => {
    prefix = `eaptest:${randomBytes(4).toString('hex')}:`;
    let store: BudgetStore;
    if (kind === 'redis') {
      redis = new Redis('redis://127.0.0.1:6379');
      store = new RedisBudgetStore(redis, prefix);
    } else {
      store = new MemoryBudgetStore();
    }
    clock = todayAtNoon();
    observed = await startObservedModule({
      env: { METRICS_MAX_TENANTS: '2' },
      providers: [
        TokenBudgetService,
        { provide: BUDGET_STORE, useValue: store },
        { provide: BUDGET_CLOCK, useValue: () => clock },
      ],
    });
    budgets = observed.get(TokenBudgetService);
  });
  afterAll(async () => {
    await observed?.close();
    if (redis) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    }
  });

  async function spend(
    tenant: string,
    tenantLimits: { daily: number; monthly: number },
    tokens: number,
  ) {
    const reservation = await budgets.reserve(tenant, tenantLimits, {
      promptTokens: 0,
      maxOutputTokens: tokens,
      ttlMs: 60_000,
    });
    await budgets.settle(reservation, { totalTokens: tokens, completionTokens: 0, model: 'm' });
  }

  const gauge = (samples: Sample[], name: string, tenant_id: string, period: string) =>
    sampleValue(samples, name, { tenant_id, period });

  it('keeps the first tenants of the period in their slots and sums the others under _other', async () => {
    // The low-budget tenant is among the first two, then the least active.
    await spend('tenant-low', limits.low, 2800);
    await spend('tenant-b', limits.big, 100);
    await spend('tenant-c', limits.big, 500);
    for (let i = 0; i < 20; i++) {
      await spend('tenant-b', limits.big, 10);
      await spend('tenant-c', limits.big, 10);
    }
    // A fold is counted by the scrape that finds it, after that scrape rendered the counter.
    await observed.samples();
    for (let scrape = 0; scrape < 3; scrape++) {
      const samples = await observed.samples();
      expect(gauge(samples, 'token_budget_used_total', 'tenant-low', 'daily')).toBe(2800);
      expect(gauge(samples, 'token_budget_remaining', 'tenant-low', 'daily')).toBe(200);
      expect(gauge(samples, 'token_budget_limit', 'tenant-low', 'daily')).toBe(3000);
      expect(gauge(samples, 'token_budget_used_total', 'tenant-b', 'daily')).toBe(300);
      // The third tenant's numbers are really there, as _other.
      expect(samplesOf(samples, 'token_budget_used_total', { tenant_id: 'tenant-c' })).toEqual([]);
      expect(gauge(samples, 'token_budget_used_total', '_other', 'daily')).toBe(700);
      expect(gauge(samples, 'token_budget_remaining', '_other', 'daily')).toBe(1e6 - 700);
      expect(gauge(samples, 'token_budget_used_total', '_other', 'monthly')).toBe(700);
      // One fold per period, counted when it began, not on every scrape.
      expect(
        sampleValue(samples, 'metrics_label_overflow_total', { metric: 'token_budget_used_total' }),
      ).toBe(2);
    }
  });

  it('reads 0 used after a new UTC day, and gives the daily slots out anew', async () => {
    clock = new Date(clock.getTime() + DAY_MS);
    let samples = await observed.samples();
    expect(gauge(samples, 'token_budget_used_total', 'tenant-low', 'daily')).toBe(0);
    expect(gauge(samples, 'token_budget_remaining', 'tenant-low', 'daily')).toBe(3000);
    expect(gauge(samples, 'token_budget_used_total', 'tenant-b', 'daily')).toBe(0);
    expect(gauge(samples, 'token_budget_used_total', '_other', 'daily')).toBe(0);
    // Unless the month turned too, the monthly period goes on with its slots.
    if (clock.getUTCDate() !== 1) {
      expect(gauge(samples, 'token_budget_used_total', 'tenant-low', 'monthly')).toBe(2800);
    }
    // The first tenant with usage today takes the first daily slot.
    await spend('tenant-c', limits.big, 42);
    samples = await observed.samples();
    expect(gauge(samples, 'token_budget_used_total', 'tenant-c', 'daily')).toBe(42);
    expect(gauge(samples, 'token_budget_used_total', 'tenant-low', 'daily')).toBe(0);
    expect(
      samplesOf(samples, 'token_budget_used_total', { tenant_id: 'tenant-b', period: 'daily' }),
    ).toEqual([]);
  });

  it('shows a tenant refused before any usage, at its limit', async () => {
    await expect(
      budgets.reserve(
        'tenant-broke',
        { daily: 0, monthly: 0 },
        { promptTokens: 10, maxOutputTokens: 100, ttlMs: 60_000 },
      ),
    ).rejects.toThrow(/exhausted/);
    const readings = await budgets.snapshot();
    expect(readings).toContainEqual({
      tenantId: 'tenant-broke',
      period: 'daily',
      limit: 0,
      used: 0,
      remaining: 0,
    });
  });
});
