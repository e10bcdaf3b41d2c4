import { currentWindows } from './budget-period';
import { MemoryBudgetStore } from './memory-budget.store';

// The store prunes windows that ended by the wall clock, so the windows are today's.
const now = new Date();
const windows = currentWindows(now);
const limits = (daily: number, monthly: number) =>
  windows.map((w) => ({ ...w, limit: w.period === 'daily' ? daily : monthly }));

describe(MemoryBudgetStore.name, () => {
  it('reserves in every period or in none', async () => {
    const store = new MemoryBudgetStore();
    expect(await store.reserve('t1', limits(100, 50), 60)).toEqual({
      ok: false,
      period: 'monthly',
    });
    expect(await store.read('t1', windows)).toEqual([
      { used: 0, reserved: 0 },
      { used: 0, reserved: 0 },
    ]);
    expect(await store.reserve('t1', limits(100, 100), 60)).toEqual({ ok: true });
    expect(await store.read('t1', windows)).toEqual([
      { used: 0, reserved: 60 },
      { used: 0, reserved: 60 },
    ]);
  });

  it('counts in-flight reservations against the limit', async () => {
    const store = new MemoryBudgetStore();
    await store.reserve('t1', limits(100, 1000), 60);
    expect(await store.reserve('t1', limits(100, 1000), 60)).toEqual({
      ok: false,
      period: 'daily',
    });
  });

  it('settles a reservation to the real usage, and a release to nothing', async () => {
    const store = new MemoryBudgetStore();
    await store.reserve('t1', limits(1000, 1000), 300);
    await store.settle('t1', windows, 300, 120);
    await store.reserve('t1', limits(1000, 1000), 300);
    await store.settle('t1', windows, 300, 0);
    expect(await store.read('t1', windows)).toEqual([
      { used: 120, reserved: 0 },
      { used: 120, reserved: 0 },
    ]);
  });

  it('keeps tenants apart', async () => {
    const store = new MemoryBudgetStore();
    await store.reserve('t1', limits(100, 100), 100);
    expect(await store.reserve('t2', limits(100, 100), 100)).toEqual({ ok: true });
  });

  it('starts a new day at zero', async () => {
    const store = new MemoryBudgetStore();
    await store.reserve('t1', limits(100, 1000), 100);
    await store.settle('t1', windows, 100, 100);
    const tomorrow = currentWindows(new Date(windows[0].resetsAt.getTime() + 1000));
    expect((await store.read('t1', tomorrow))[0]).toEqual({ used: 0, reserved: 0 });
    // the monthly window goes on, unless today is the month's last day
    if (tomorrow[1].id === windows[1].id) {
      expect((await store.read('t1', tomorrow))[1]).toEqual({ used: 100, reserved: 0 });
    }
  });
});
