import type { BudgetObserver } from '../../observability/observers';
import { PendingSettles } from './pending-settles';
import type { Reservation } from './token-budget.service';

function reservation(id: string): Reservation {
  return {
    id,
    tenantId: 'tenant-1',
    limits: { daily: 1000, monthly: 1000 },
    windows: [],
    amount: 100,
    outputBound: 50,
  };
}

function observer() {
  return {
    settleDeferred: jest.fn(),
    settleRecovered: jest.fn(),
    settleLost: jest.fn(),
  };
}

describe(PendingSettles.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('retries with a growing backoff until the ledger answers, then reports the recovery', async () => {
    const send = jest
      .fn()
      .mockRejectedValueOnce(new Error('down'))
      .mockRejectedValueOnce(new Error('down'))
      .mockResolvedValue('settled');
    const reports = observer();
    const pending = new PendingSettles(send, reports as unknown as BudgetObserver, 60_000);
    pending.add(reservation('r1'), 42, new Error('Connection is closed.'));
    expect(reports.settleDeferred).toHaveBeenCalledWith({
      tenantId: 'tenant-1',
      tokens: 42,
      error: expect.any(Error),
    });
    expect(pending.size).toBe(1);
    await jest.advanceTimersByTimeAsync(249);
    expect(send).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    expect(send).toHaveBeenCalledTimes(1);
    // The second retry waits twice as long.
    await jest.advanceTimersByTimeAsync(499);
    expect(send).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(send).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(1000);
    expect(send).toHaveBeenCalledTimes(3);
    expect(send).toHaveBeenLastCalledWith(reservation('r1'), 42);
    expect(pending.size).toBe(0);
    expect(reports.settleRecovered).toHaveBeenCalledWith({
      tenantId: 'tenant-1',
      tokens: 42,
      attempts: 4,
    });
    expect(reports.settleLost).not.toHaveBeenCalled();
  });

  it('gives up once its retry window has passed, and says the tokens are lost', async () => {
    const send = jest.fn().mockRejectedValue(new Error('down'));
    const reports = observer();
    const pending = new PendingSettles(send, reports as unknown as BudgetObserver, 30_000);
    pending.add(reservation('r1'), 42, new Error('down'));
    await jest.advanceTimersByTimeAsync(60_000);
    expect(pending.size).toBe(0);
    expect(reports.settleLost).toHaveBeenCalledWith({
      tenantId: 'tenant-1',
      tokens: 42,
      attempts: expect.any(Number),
      reason: 'retry_limit',
    });
    // Capped backoff (10 s): a handful of tries in 30 s, not thousands.
    expect(send.mock.calls.length).toBeGreaterThan(3);
    expect(send.mock.calls.length).toBeLessThan(10);
    const calls = send.mock.calls.length;
    await jest.advanceTimersByTimeAsync(60_000);
    expect(send).toHaveBeenCalledTimes(calls);
  });

  it('tries every waiting settle once more at shutdown, within its bound, and reports the rest lost', async () => {
    jest.useRealTimers();
    const send = jest
      .fn()
      .mockImplementation((r: Reservation) =>
        r.id === 'r1' ? Promise.resolve('settled') : new Promise(() => undefined),
      );
    const reports = observer();
    const pending = new PendingSettles(send, reports as unknown as BudgetObserver, 60_000);
    pending.add(reservation('r1'), 1, new Error('down'));
    pending.add(reservation('r2'), 2, new Error('down'));
    const started = Date.now();
    await pending.flush(200);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(reports.settleRecovered).toHaveBeenCalledWith(expect.objectContaining({ tokens: 1 }));
    expect(reports.settleLost).toHaveBeenCalledWith(
      expect.objectContaining({ tokens: 2, reason: 'shutdown' }),
    );
    expect(pending.size).toBe(0);
  });

  it('holds at most 10,000 waiting settles: past that a new one is reported lost at once', () => {
    const reports = observer();
    const pending = new PendingSettles(
      jest.fn().mockRejectedValue(new Error('down')),
      reports as unknown as BudgetObserver,
      60_000,
    );
    for (let i = 0; i <= 10_000; i++) pending.add(reservation(`r${i}`), 1, new Error('down'));
    expect(pending.size).toBe(10_000);
    expect(reports.settleLost).toHaveBeenCalledTimes(1);
    expect(reports.settleLost).toHaveBeenCalledWith(
      expect.objectContaining({ reason: 'queue_full' }),
    );
  });
});
