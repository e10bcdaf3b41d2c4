import { Injectable } from '@nestjs/common';
import { LOG_EVENTS } from '../catalog';
import type { BudgetReading, BudgetRefusal } from '../catalog';
import { PinoLogger } from '../logging';
import { MetricsService } from '../metrics';

/**
 * The token budget's decisions, reported once: a refused model call
 * (token_budget_exceeded_total and a budget.exceeded line), and where the
 * budget gauges read the ledger at scrape time.
 */
@Injectable()
export class BudgetObserver {
  constructor(
    private readonly metrics: MetricsService,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('TokenBudgetService');
  }

  refused(refusal: BudgetRefusal): void {
    this.metrics.recordBudgetExceeded(refusal.period);
    this.logger.warn(
      {
        event: LOG_EVENTS.budgetExceeded,
        period: refusal.period,
        requested_tokens: refusal.requestedTokens,
        resets_at: refusal.resetsAt.toISOString(),
      },
      'Token budget exceeded',
    );
  }

  /** Where every scrape reads the ledgers of the recently active tenants; undefined stops it. */
  readLedgerWith(snapshot: (() => Promise<readonly BudgetReading[]>) | undefined): void {
    this.metrics.setBudgetSnapshotProvider(snapshot);
  }
}
