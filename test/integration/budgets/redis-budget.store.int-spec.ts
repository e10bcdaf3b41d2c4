import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { currentWindows } from '../../../src/platform/budgets/budget-period';
import { RedisBudgetStore } from '../../../src/platform/budgets/redis-budget.store';

const now = new Date();
const windows = currentWindows(now);
const limits = (daily: number, monthly: number) =>
  windows.map((w) => ({ ...w, limit: w.period === 'daily' ? daily : monthly }));

describe(RedisBudgetStore.name, () => {
  let redis: Redis;
  let prefix: string;
  let store: RedisBudgetStore;

  beforeAll(() => {
    redis = new Redis('redis://127.0.0.1:6379');
  });
  beforeEach(() => {
    prefix = `eaptest:${randomBytes(4).toString('hex')}:`;
    store = new RedisBudgetStore(redis, prefix);
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  });
  afterAll(() => redis.quit());

  it('reserves in every period or in none', async () => {
    expect(await store.reserve('t1', limits(100, 50), 60)).toEqual({
      ok: false,
      period: 'monthly',
    });
    expect(await store.read('t1', windows)).toEqual([
      { used: 0, reserved: 0 },
      { used: 0, reserved: 0 },
    ]);
    expect(await store.reserve('t1', limits(100, 100), 60)).toEqual({ ok: true });
    await store.settle('t1', windows, 60, 42);
    expect(await store.read('t1', windows)).toEqual([
      { used: 42, reserved: 0 },
      { used: 42, reserved: 0 },
    ]);
  });

  it('never over-commits under concurrent reservations', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 50 }, () => store.reserve('t1', limits(1000, 10_000), 100)),
    );
    expect(attempts.filter((r) => r.ok)).toHaveLength(10);
    expect((await store.read('t1', windows))[0]).toEqual({ used: 0, reserved: 1000 });
  });

  it('gives every key an expiry after its period ends', async () => {
    await store.reserve('t1', limits(100, 100), 10);
    const daily = store.key('t1', windows[0]);
    // The absolute expiry (Redis 7): exactly a day after the window resets, whatever the clocks read.
    const expiresAt = Number(await redis.call('PEXPIRETIME', daily));
    expect(expiresAt).toBe(windows[0].resetsAt.getTime() + 24 * 3600 * 1000);
  });

  it('reads many tenants in one round trip', async () => {
    await store.reserve('a', limits(100, 100), 10);
    await store.settle('a', windows, 10, 7);
    const [a, b] = await store.readMany(['a', 'b'], windows);
    expect(a).toEqual([
      { used: 7, reserved: 0 },
      { used: 7, reserved: 0 },
    ]);
    expect(b).toEqual([
      { used: 0, reserved: 0 },
      { used: 0, reserved: 0 },
    ]);
  });
});
