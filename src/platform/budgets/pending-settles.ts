import type { BudgetObserver } from '../../observability/observers';
import type { Reservation } from './token-budget.service';

/** Past this many waiting settles a new one is given up at once: the queue is memory. */
const MAX_PENDING = 10_000;
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 10_000;

interface PendingSettle {
  readonly reservation: Reservation;
  readonly actual: number;
  readonly giveUpAt: number;
  attempts: number;
  nextAt: number;
}

/**
 * Settles the ledger could not take, tried again in the background with
 * capped exponential backoff until it answers or `retryForMs` has passed.
 * Safe because the ledger counts a settle once, however often it arrives.
 * Its timer never keeps the process alive.
 */
export class PendingSettles {
  private readonly entries = new Map<string, PendingSettle>();
  private timer: NodeJS.Timeout | undefined;
  private retrying: Promise<void> | undefined;

  constructor(
    private readonly send: (reservation: Reservation, actual: number) => Promise<unknown>,
    private readonly observer: BudgetObserver,
    private readonly retryForMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  add(reservation: Reservation, actual: number, error: unknown): void {
    const record = { tenantId: reservation.tenantId, tokens: actual };
    if (this.entries.size >= MAX_PENDING) {
      this.observer.settleLost({ ...record, attempts: 1, reason: 'queue_full' });
      return;
    }
    const now = this.now();
    this.entries.set(reservation.id, {
      reservation,
      actual,
      giveUpAt: now + this.retryForMs,
      attempts: 1,
      nextAt: now + retryDelayMs(1),
    });
    this.observer.settleDeferred({ ...record, error });
    this.schedule();
  }

  /** One last try of every waiting settle, bounded by `boundMs`; what does not get through is reported lost. */
  async flush(boundMs: number): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.retrying;
    const waiting = [...this.entries.values()];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(waiting.map((entry) => this.tryOnce(entry, true))),
      new Promise((resolve) => (timer = setTimeout(resolve, boundMs))),
    ]);
    clearTimeout(timer);
    for (const entry of this.entries.values()) this.lose(entry, 'shutdown');
  }

  private schedule(): void {
    if (this.timer || this.retrying || this.entries.size === 0) return;
    let next = Infinity;
    for (const entry of this.entries.values()) next = Math.min(next, entry.nextAt);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.retrying = this.retryDue().finally(() => {
          this.retrying = undefined;
          this.schedule();
        });
      },
      Math.max(0, next - this.now()),
    );
    this.timer.unref();
  }

  private async retryDue(): Promise<void> {
    const now = this.now();
    const due = [...this.entries.values()].filter((entry) => entry.nextAt <= now);
    await Promise.allSettled(due.map((entry) => this.tryOnce(entry, false)));
  }

  private async tryOnce(entry: PendingSettle, last: boolean): Promise<void> {
    entry.attempts++;
    try {
      await this.send(entry.reservation, entry.actual);
    } catch {
      if (!last && this.now() >= entry.giveUpAt) this.lose(entry, 'retry_limit');
      else entry.nextAt = this.now() + retryDelayMs(entry.attempts);
      return;
    }
    if (!this.entries.delete(entry.reservation.id)) return;
    this.observer.settleRecovered({
      tenantId: entry.reservation.tenantId,
      tokens: entry.actual,
      attempts: entry.attempts,
    });
  }

  private lose(entry: PendingSettle, reason: 'retry_limit' | 'shutdown'): void {
    if (!this.entries.delete(entry.reservation.id)) return;
    this.observer.settleLost({
      tenantId: entry.reservation.tenantId,
      tokens: entry.actual,
      attempts: entry.attempts,
      reason,
    });
  }
}

function retryDelayMs(attempts: number): number {
  return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempts - 1));
}
