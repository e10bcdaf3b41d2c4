import { randomBytes, randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { currentWindows } from '../../../src/platform/budgets/budget-period';
import { RESERVATION_RECORD_RETENTION_MS } from '../../../src/platform/budgets/budget-store';
import type { BudgetStore, ReserveRequest } from '../../../src/platform/budgets/budget-store';
import { MemoryBudgetStore } from '../../../src/platform/budgets/memory-budget.store';
import { RedisBudgetStore } from '../../../src/platform/budgets/redis-budget.store';

// The memory store prunes windows that ended by the wall clock, so the windows are today's.
const t0 = Date.now();
const windows = currentWindows(new Date(t0));
const limits = (daily: number, monthly: number) =>
  windows.map((w) => ({ ...w, limit: w.period === 'daily' ? daily : monthly }));
const MINUTE = 60_000;

function claim(overrides: Partial<ReserveRequest> = {}): ReserveRequest {
  return {
    id: randomUUID(),
    promptTokens: 50,
    maxOutputTokens: 50,
    minOutputTokens: 16,
    expiresAt: t0 + MINUTE,
    now: t0,
    ...overrides,
  };
}

const both = (used: number, reserved: number) => [
  { used, reserved },
  { used, reserved },
];

let redis: Redis;
const prefixes: string[] = [];

beforeAll(() => {
  redis = new Redis('redis://127.0.0.1:6379');
});
afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  await redis.quit();
});

function redisStore(): RedisBudgetStore {
  const prefix = `eaptest:budget-store:${randomBytes(4).toString('hex')}:`;
  prefixes.push(prefix);
  return new RedisBudgetStore(redis, prefix);
}

/** The same contract for both ledgers: what a single replica gets in memory, N replicas get in Redis. */
describe.each([
  ['MemoryBudgetStore', () => new MemoryBudgetStore() as BudgetStore],
  ['RedisBudgetStore', () => redisStore() as BudgetStore],
])('%s', (_name, makeStore) => {
  let store: BudgetStore;
  beforeEach(() => {
    store = makeStore();
  });

  it('reserves in every period or in none, naming the period that refused', async () => {
    expect(await store.reserve('t1', limits(1000, 60), claim())).toEqual({
      ok: false,
      period: 'monthly',
    });
    expect(await store.read('t1', windows, t0)).toEqual(both(0, 0));
    expect(await store.reserve('t1', limits(1000, 1000), claim())).toEqual({
      ok: true,
      outputBound: 50,
    });
    expect(await store.read('t1', windows, t0)).toEqual(both(0, 100));
  });

  it('cuts the answer to what the tightest period has left after the prompt, and refuses below the floor', async () => {
    const big = claim({ promptTokens: 100, maxOutputTokens: 4096 });
    expect(await store.reserve('t1', limits(3000, 2500), big)).toEqual({
      ok: true,
      outputBound: 2400,
    });
    expect(await store.read('t1', windows, t0)).toEqual(both(0, 2500));
    // Nothing left for even the floor's answer: refused before the call, and nothing held.
    expect(await store.reserve('t1', limits(3000, 2500), claim({ promptTokens: 1 }))).toEqual({
      ok: false,
      period: 'monthly',
    });
    expect(await store.read('t1', windows, t0)).toEqual(both(0, 2500));
  });

  it('never lets concurrent calls jointly pass a limit', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 50 }, () =>
        store.reserve(
          't1',
          limits(3000, 1_000_000),
          claim({ promptTokens: 30, maxOutputTokens: 900 }),
        ),
      ),
    );
    const granted = attempts.filter((result) => result.ok);
    // 930 + 930 + 930 fit in 3000; the fourth gets what is left (210 - 30 = 180).
    expect(granted.map((result) => result.ok && result.outputBound)).toEqual([900, 900, 900, 180]);
    expect((await store.read('t1', windows, t0))[0]).toEqual({ used: 0, reserved: 3000 });
  });

  it('settles a reservation to the real usage, and a release to nothing', async () => {
    const first = claim();
    await store.reserve('t1', limits(1000, 1000), first);
    expect(await store.settle('t1', windows, { id: first.id, actual: 120, now: t0 })).toBe(
      'settled',
    );
    const second = claim();
    await store.reserve('t1', limits(1000, 1000), second);
    await store.settle('t1', windows, { id: second.id, actual: 0, now: t0 });
    expect(await store.read('t1', windows, t0)).toEqual(both(120, 0));
  });

  it('counts a settle once, however often it is sent', async () => {
    const call = claim();
    await store.reserve('t1', limits(1000, 1000), call);
    await store.settle('t1', windows, { id: call.id, actual: 70, now: t0 });
    expect(await store.settle('t1', windows, { id: call.id, actual: 70, now: t0 + 5000 })).toBe(
      'duplicate',
    );
    expect(await store.read('t1', windows, t0 + 5000)).toEqual(both(70, 0));
  });

  it('stops holding an unsettled reservation at its expiry, and still counts a late settle once', async () => {
    const lost = claim({ expiresAt: t0 + 1000 });
    await store.reserve('t1', limits(1000, 1000), lost);
    expect(await store.read('t1', windows, t0 + 999)).toEqual(both(0, 100));
    expect(await store.read('t1', windows, t0 + 1000)).toEqual(both(0, 0));
    // The budget it held is free again for the next call.
    expect(
      await store.reserve(
        't1',
        limits(100, 100),
        claim({ now: t0 + 2000, expiresAt: t0 + MINUTE }),
      ),
    ).toEqual({ ok: true, outputBound: 50 });
    expect(await store.settle('t1', windows, { id: lost.id, actual: 80, now: t0 + 3000 })).toBe(
      'settled',
    );
    expect(await store.settle('t1', windows, { id: lost.id, actual: 80, now: t0 + 4000 })).toBe(
      'duplicate',
    );
    expect(await store.read('t1', windows, t0 + 4000)).toEqual(both(80, 100));
  });

  it('releases expired reservations on the next reserve too, before checking the limit', async () => {
    await store.reserve('t1', limits(100, 100), claim({ expiresAt: t0 + 1000 }));
    expect(await store.reserve('t1', limits(100, 100), claim({ now: t0 + 500 }))).toEqual({
      ok: false,
      period: 'daily',
    });
    expect(await store.reserve('t1', limits(100, 100), claim({ now: t0 + 1000 }))).toMatchObject({
      ok: true,
    });
  });

  it('keeps tenants apart', async () => {
    await store.reserve('t1', limits(100, 100), claim());
    expect(await store.reserve('t2', limits(100, 100), claim())).toMatchObject({ ok: true });
    expect(await store.read('t2', windows, t0)).toEqual(both(0, 100));
  });

  it('starts a new day at zero', async () => {
    const call = claim();
    await store.reserve('t1', limits(1000, 1000), call);
    await store.settle('t1', windows, { id: call.id, actual: 100, now: t0 });
    const tomorrow = currentWindows(new Date(windows[0].resetsAt.getTime() + 1000));
    expect((await store.read('t1', tomorrow, t0))[0]).toEqual({ used: 0, reserved: 0 });
    // the monthly window goes on, unless today is the month's last day
    if (tomorrow[1].id === windows[1].id) {
      expect((await store.read('t1', tomorrow, t0))[1]).toEqual({ used: 100, reserved: 0 });
    }
  });

  it('reads many tenants at once', async () => {
    const call = claim();
    await store.reserve('a', limits(1000, 1000), call);
    await store.settle('a', windows, { id: call.id, actual: 7, now: t0 });
    expect(await store.readMany(['a', 'b'], windows)).toEqual([both(7, 0), both(0, 0)]);
  });
});

describe('RedisBudgetStore keys', () => {
  it('gives every key an expiry: windows a day after they end, reservations after their retention', async () => {
    const store = redisStore();
    const call = claim({ expiresAt: t0 + MINUTE });
    await store.reserve('t1', limits(100, 100), call);
    // The absolute expiry (Redis 7): exactly a day after the window resets, whatever the clocks read.
    expect(Number(await redis.call('PEXPIRETIME', store.key('t1', windows[0])))).toBe(
      windows[0].resetsAt.getTime() + 24 * 3600 * 1000,
    );
    for (const key of store.reservationKeys('t1')) {
      expect(Number(await redis.call('PEXPIRETIME', key))).toBe(
        t0 + MINUTE + RESERVATION_RECORD_RETENTION_MS,
      );
    }
  });

  it('forgets settled reservations after their retention, so the record cannot grow', async () => {
    const store = redisStore();
    const call = claim();
    await store.reserve('t1', limits(1000, 1000), call);
    await store.settle('t1', windows, { id: call.id, actual: 5, now: t0 });
    const [book, due] = store.reservationKeys('t1');
    expect(await redis.hlen(book)).toBe(1);
    await store.read('t1', windows, t0 + RESERVATION_RECORD_RETENTION_MS);
    expect(await redis.hlen(book)).toBe(0);
    expect(await redis.zcard(due)).toBe(0);
  });
});
