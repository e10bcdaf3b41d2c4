import { HealthResultCache } from './health-result.cache';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe(HealthResultCache.name, () => {
  let now: number;
  let cache: HealthResultCache<string, number>;

  beforeEach(() => {
    now = 1000;
    cache = new HealthResultCache(() => now);
  });

  it('shares one in-flight evaluation among concurrent callers', async () => {
    const pending = deferred<number>();
    const evaluate = jest.fn(() => pending.promise);
    const calls = Array.from({ length: 100 }, () => cache.get('redis', 1000, evaluate));
    pending.resolve(1);
    expect(await Promise.all(calls)).toEqual(Array(100).fill(1));
    expect(evaluate).toHaveBeenCalledTimes(1);
  });

  it('reuses a settled result until the period after it settled is over', async () => {
    const evaluate = jest.fn().mockResolvedValueOnce(1).mockResolvedValueOnce(2);
    await cache.get('redis', 1000, evaluate);
    now += 999;
    expect(await cache.get('redis', 1000, evaluate)).toBe(1);
    now += 1;
    expect(await cache.get('redis', 1000, evaluate)).toBe(2);
    expect(evaluate).toHaveBeenCalledTimes(2);
  });

  it('counts the period from when a slow evaluation settled, not from when it started', async () => {
    const pending = deferred<number>();
    const first = cache.get('db', 1000, () => pending.promise);
    now += 5000;
    pending.resolve(1);
    await first;
    expect(await cache.get('db', 1000, () => Promise.resolve(2))).toBe(1);
  });

  it('keeps keys apart', async () => {
    await cache.get('redis', 1000, () => Promise.resolve(1));
    expect(await cache.get('database', 1000, () => Promise.resolve(2))).toBe(2);
  });

  it('never reuses a failed evaluation', async () => {
    await expect(cache.get('redis', 1000, () => Promise.reject(new Error('x')))).rejects.toThrow();
    expect(await cache.get('redis', 1000, () => Promise.resolve(3))).toBe(3);
  });
});
