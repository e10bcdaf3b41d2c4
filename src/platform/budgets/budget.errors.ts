import { ClassifiedError, DependencyUnavailableError } from '../../common';
import type { BudgetPeriod } from '../../observability/catalog';

/** The tenant's budget cannot cover the next model call; the run stops as budget_exceeded (429). */
export class BudgetExceededError extends ClassifiedError {
  readonly errorType = 'budget_exceeded';

  constructor(
    readonly period: BudgetPeriod,
    readonly resetsAt: Date,
  ) {
    super(`The ${period} token budget is exhausted; it resets at ${resetsAt.toISOString()}`);
    this.name = 'BudgetExceededError';
  }

  /** Whole seconds until the window resets (Retry-After), at least 1. */
  retryAfterSeconds(now = Date.now()): number {
    return Math.max(1, Math.ceil((this.resetsAt.getTime() - now) / 1000));
  }
}

/** The shared ledger (Redis) cannot answer: never treated as unlimited (503). */
export class BudgetUnavailableError extends DependencyUnavailableError {
  constructor(cause: unknown) {
    super('budget_ledger', 'The token budget ledger is unavailable; try again shortly', { cause });
    this.name = 'BudgetUnavailableError';
  }
}
