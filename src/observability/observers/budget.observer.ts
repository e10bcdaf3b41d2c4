import { Injectable } from '@nestjs/common';
import { LOG_EVENTS } from '../catalog';
import type {
  BudgetOverrun,
  BudgetReading,
  BudgetRefusal,
  BudgetSettleDeferral,
  BudgetSettleLoss,
  BudgetSettleRecovery,
} from '../catalog';
import { PinoLogger } from '../logging';
import { MetricsService } from '../metrics';

/**
 * The token budget's decisions, reported once: a refused model call
 * (token_budget_exceeded_total and a budget.exceeded line), an answer past
 * its bound (token_budget_overrun_tokens_total, budget.overrun), settles
 * the ledger could not take at once (budget.settle.*), and where the budget
 * gauges read the ledger at scrape time.
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

  overrun(overrun: BudgetOverrun): void {
    const excess = overrun.completionTokens - overrun.boundTokens;
    this.metrics.recordBudgetOverrun(overrun.model, overrun.tenantId, excess);
    this.logger.warn(
      {
        event: LOG_EVENTS.budgetOverrun,
        tenant_id: overrun.tenantId,
        model: overrun.model,
        max_tokens: overrun.boundTokens,
        completion_tokens: overrun.completionTokens,
        overrun_tokens: excess,
      },
      'The proxy reported more completion tokens than max_tokens allowed',
    );
  }

  settleDeferred(deferral: BudgetSettleDeferral): void {
    this.logger.warn(
      {
        event: LOG_EVENTS.budgetSettleDeferred,
        tenant_id: deferral.tenantId,
        tokens: deferral.tokens,
        err: errorMessage(deferral.error),
      },
      'The token ledger could not record a call; retrying in the background',
    );
  }

  settleRecovered(recovery: BudgetSettleRecovery): void {
    this.logger.info(
      {
        event: LOG_EVENTS.budgetSettleRecovered,
        tenant_id: recovery.tenantId,
        tokens: recovery.tokens,
        attempts: recovery.attempts,
      },
      'A deferred token settle reached the ledger',
    );
  }

  settleLost(loss: BudgetSettleLoss): void {
    this.logger.error(
      {
        event: LOG_EVENTS.budgetSettleLost,
        tenant_id: loss.tenantId,
        tokens: loss.tokens,
        attempts: loss.attempts,
        reason: loss.reason,
      },
      'A token settle was given up: its tokens are missing from the ledger',
    );
  }

  /** Where every scrape reads the ledgers of the recently active tenants; undefined stops it. */
  readLedgerWith(snapshot: (() => Promise<readonly BudgetReading[]>) | undefined): void {
    this.metrics.setBudgetSnapshotProvider(snapshot);
  }
}

/** The cause as text: a ledger error (a Redis reply, a timeout) carries no secrets, but not its stack either. */
function errorMessage(error: unknown): string {
  const cause = (error as { cause?: unknown } | undefined)?.cause ?? error;
  return cause instanceof Error ? cause.message : String(cause);
}
