import { Inject, Injectable, Logger, OnApplicationShutdown, Optional } from '@nestjs/common';
import type { Histogram, LabelValues } from 'prom-client';
import { APP_CONFIG } from '../../config';
import type { AppConfig } from '../../config';
import { currentTraceId } from '../telemetry';
import { LabelCap, normaliseLabelValue } from './label-cap';
import { LlmPriceTable } from './llm-price-table';
import { metricFamilies, observeDuration, setBudgetCollector } from './metric-families';
import type { MetricFamilies } from './metric-families';
import {
  MAX_AGENT_TYPE_LABEL_VALUES,
  MAX_HEALTH_COMPONENT_LABEL_VALUES,
  MAX_MODEL_LABEL_VALUES,
  MAX_TOOL_NAME_LABEL_VALUES,
  METRIC,
  OVERFLOW_LABEL,
} from './metric-names';
import type {
  AgentRunRecord,
  BudgetPeriod,
  LlmRequestRecord,
  TokenBudgetRecord,
  ToolCallRecord,
} from './metrics.types';

/** Reads the shared ledger for the budget gauges; see MetricsService.setBudgetSnapshotProvider. */
export type BudgetSnapshotProvider = () => Promise<readonly TokenBudgetRecord[]>;

/** How long a scrape waits for the budget snapshot before keeping the last values. */
export const BUDGET_SNAPSHOT_TIMEOUT_MS = 1000;

const RUN_STATUSES = new Set(['success', 'error', 'max_steps', 'budget_exceeded']);
const PERIODS: readonly BudgetPeriod[] = ['daily', 'monthly'];

interface LabelCaps {
  readonly tenant: LabelCap;
  readonly model: LabelCap;
  readonly agentType: LabelCap;
  readonly toolName: LabelCap;
  readonly component: LabelCap;
}

interface BudgetTotals {
  remaining: number;
  used: number;
  limit: number;
}

/**
 * The one API through which domain code records metrics (the original's
 * record_agent_run, record_llm_request, record_tool_call, update_token_budget).
 * Recording never throws into the caller; with METRICS_ENABLED=false every
 * method is a no-op. Duration histograms carry the current sampled trace id
 * as an OpenMetrics exemplar.
 */
@Injectable()
export class MetricsService implements OnApplicationShutdown {
  private readonly logger = new Logger(MetricsService.name);
  private readonly prices: LlmPriceTable;
  /** Undefined with METRICS_ENABLED=false: every method returns at once. */
  private readonly live:
    { readonly families: MetricFamilies; readonly caps: LabelCaps } | undefined;
  /** Tenants past the cap, summed into tenant_id="_other" (bounded like the cap). */
  private readonly foldedBudgets = new Map<string, TokenBudgetRecord>();
  private readonly otherTotals = new Map<BudgetPeriod, BudgetTotals>();
  private budgetProvider: BudgetSnapshotProvider | undefined;
  private budgetRefresh: Promise<void> | undefined;
  private releaseBudgetCollector: (() => void) | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig, @Optional() prices?: LlmPriceTable) {
    this.prices = prices ?? LlmPriceTable.load(config.llm.pricesFile);
    if (!config.metrics.enabled) return;
    const families = metricFamilies();
    const cap = (max: number, metrics: string[]): LabelCap =>
      new LabelCap(max, families.labelOverflow, metrics);
    this.live = {
      families,
      caps: {
        tenant: cap(config.metrics.maxTenants, [
          METRIC.tokenBudgetRemaining,
          METRIC.tokenBudgetUsed,
          METRIC.tokenBudgetLimit,
        ]),
        model: cap(MAX_MODEL_LABEL_VALUES, [
          METRIC.llmRequests,
          METRIC.llmRequestDuration,
          METRIC.llmTokens,
          METRIC.llmCost,
        ]),
        agentType: cap(MAX_AGENT_TYPE_LABEL_VALUES, [METRIC.agentRunDuration, METRIC.agentSteps]),
        toolName: cap(MAX_TOOL_NAME_LABEL_VALUES, [METRIC.toolCalls, METRIC.toolDuration]),
        component: cap(MAX_HEALTH_COMPONENT_LABEL_VALUES, [
          METRIC.healthComponentUp,
          METRIC.healthCheckDuration,
        ]),
      },
    };
  }

  /** The price table behind llm_cost_usd_total. */
  get priceTable(): LlmPriceTable {
    return this.prices;
  }

  /** agent_run_duration_seconds{agent_type,status} and agent_steps_total{agent_type}. */
  recordAgentRun(record: AgentRunRecord): void {
    if (!this.live) return;
    const { families, caps } = this.live;
    try {
      const agentType = caps.agentType.fold(record.agentType);
      const status = RUN_STATUSES.has(record.status) ? record.status : 'error';
      observeSeconds(
        families.agentRunDuration,
        { agent_type: agentType, status },
        record.durationSeconds,
      );
      families.agentSteps.labels(agentType).inc(nonNegative(record.steps));
    } catch (error) {
      this.swallow('recordAgentRun', error);
    }
  }

  /**
   * llm_requests_total, llm_request_duration_seconds, llm_tokens_total and
   * llm_cost_usd_total (priced by the table; a model it does not know costs 0).
   */
  recordLlmRequest(record: LlmRequestRecord): void {
    if (!this.live) return;
    const { families, caps } = this.live;
    try {
      const model = caps.model.fold(record.model);
      const status = record.status === 'success' ? 'success' : 'error';
      families.llmRequests.labels(model, status).inc();
      observeSeconds(families.llmRequestDuration, { model }, record.durationSeconds);
      const prompt = nonNegative(record.promptTokens);
      const completion = nonNegative(record.completionTokens);
      families.llmTokens.labels(model, 'prompt').inc(prompt);
      families.llmTokens.labels(model, 'completion').inc(completion);
      families.llmCost
        .labels(model)
        .inc(this.prices.costUsd(normaliseLabelValue(record.model), prompt, completion));
    } catch (error) {
      this.swallow('recordLlmRequest', error);
    }
  }

  /** tool_calls_total{tool_name,success} and tool_duration_seconds{tool_name}. */
  recordToolCall(record: ToolCallRecord): void {
    if (!this.live) return;
    const { families, caps } = this.live;
    try {
      const toolName = caps.toolName.fold(record.toolName);
      families.toolCalls.labels(toolName, record.success ? 'true' : 'false').inc();
      observeSeconds(families.toolDuration, { tool_name: toolName }, record.durationSeconds);
    } catch (error) {
      this.swallow('recordToolCall', error);
    }
  }

  /**
   * token_budget_remaining, token_budget_used_total and token_budget_limit
   * for one tenant and period, called after every settle. Past
   * METRICS_MAX_TENANTS tenants, values are summed into tenant_id="_other"
   * and each such update counts in metrics_label_overflow_total.
   */
  updateTokenBudget(record: TokenBudgetRecord): void {
    if (!this.live) return;
    const { families, caps } = this.live;
    try {
      const tenantId = normaliseLabelValue(record.tenantId);
      if (caps.tenant.tryAdmit(tenantId)) {
        setBudget(families, tenantId, record.period, record);
      } else {
        caps.tenant.countOverflow();
        this.foldBudget(families, caps.tenant, tenantId, record);
      }
    } catch (error) {
      this.swallow('updateTokenBudget', error);
    }
  }

  /** token_budget_exceeded_total{period}: a model call refused by the budget. */
  recordBudgetExceeded(period: BudgetPeriod): void {
    if (!this.live) return;
    try {
      this.live.families.tokenBudgetExceeded
        .labels(period === 'monthly' ? 'monthly' : 'daily')
        .inc();
    } catch (error) {
      this.swallow('recordBudgetExceeded', error);
    }
  }

  /** Increments active_agent_runs; the returned function decrements it (call exactly once). */
  startAgentRun(): () => void {
    const gauge = this.live?.families.activeAgentRuns;
    if (!gauge) return noop;
    gauge.inc();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      gauge.dec();
    };
  }

  /** health_component_up{component} (1/0) and health_check_duration_seconds{component}. */
  recordHealthCheck(component: string, up: boolean, durationSeconds: number): void {
    if (!this.live) return;
    const { families, caps } = this.live;
    try {
      const label = caps.component.fold(component);
      families.healthComponentUp.labels(label).set(up ? 1 : 0);
      observeSeconds(families.healthCheckDuration, { component: label }, durationSeconds);
    } catch (error) {
      this.swallow('recordHealthCheck', error);
    }
  }

  /**
   * Makes the budget gauges true on every scrape. The budget service calls
   * this once at start with a function that reads the shared ledger (Redis
   * or the in-process store) for the current daily and monthly windows of
   * every recently seen tenant, one record per tenant and period.
   *
   * On each scrape of /metrics the three budget gauges are rebuilt from that
   * snapshot alone: tenants it no longer returns disappear, a period that
   * just rolled over reads used 0 without waiting for traffic, and every
   * replica reports the same numbers. The provider is called once per scrape
   * (shared by the three gauges) and bounded by BUDGET_SNAPSHOT_TIMEOUT_MS:
   * when it fails or is late, the gauges keep their last values (from the
   * previous scrape and from updateTokenBudget) and a warning is logged.
   * Tenants past METRICS_MAX_TENANTS are summed into tenant_id="_other".
   * Passing undefined removes the provider. A no-op with metrics disabled.
   */
  setBudgetSnapshotProvider(provider: BudgetSnapshotProvider | undefined): void {
    if (!this.live) return;
    this.releaseBudgetCollector?.();
    this.releaseBudgetCollector = undefined;
    this.budgetProvider = provider;
    if (provider) this.releaseBudgetCollector = setBudgetCollector(() => this.refreshBudgets());
  }

  /**
   * Rebuilds the budget gauges from the snapshot provider now (what a scrape
   * does). Resolves without throwing when there is no provider or it fails.
   */
  refreshBudgets(): Promise<void> {
    this.budgetRefresh ??= this.loadBudgets().finally(() => {
      this.budgetRefresh = undefined;
    });
    return this.budgetRefresh;
  }

  onApplicationShutdown(): void {
    this.releaseBudgetCollector?.();
    this.releaseBudgetCollector = undefined;
  }

  private async loadBudgets(): Promise<void> {
    const provider = this.budgetProvider;
    if (!provider || !this.live) return;
    const { families, caps } = this.live;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${BUDGET_SNAPSHOT_TIMEOUT_MS} ms`)),
          BUDGET_SNAPSHOT_TIMEOUT_MS,
        );
        timer.unref();
      });
      const records = await Promise.race([provider(), timeout]);
      this.applyBudgetSnapshot(families, caps.tenant, records);
    } catch (error) {
      this.logger.warn(
        { event: 'metrics.budget_snapshot.failed', err: error },
        'Budget gauges keep their last values: the ledger snapshot failed',
      );
    } finally {
      clearTimeout(timer);
    }
  }

  private applyBudgetSnapshot(
    families: MetricFamilies,
    tenantCap: LabelCap,
    records: readonly TokenBudgetRecord[],
  ): void {
    families.tokenBudgetRemaining.reset();
    families.tokenBudgetUsed.reset();
    families.tokenBudgetLimit.reset();
    tenantCap.clear();
    this.foldedBudgets.clear();
    this.otherTotals.clear();
    for (const record of records) {
      const tenantId = normaliseLabelValue(record.tenantId);
      // Overflow is counted where tenants arrive (updateTokenBudget), not again on every scrape.
      if (tenantCap.tryAdmit(tenantId)) setBudget(families, tenantId, record.period, record);
      else this.foldBudget(families, tenantCap, tenantId, record);
    }
  }

  /** Adds a folded tenant's latest values to the `_other` sums, replacing its previous ones. */
  private foldBudget(
    families: MetricFamilies,
    tenantCap: LabelCap,
    tenantId: string,
    record: TokenBudgetRecord,
  ): void {
    const period = record.period;
    const key = `${period}\u0000${tenantId}`;
    const totals = this.otherTotals.get(period) ?? { remaining: 0, used: 0, limit: 0 };
    const previous = this.foldedBudgets.get(key);
    if (previous) subtract(totals, previous);
    this.foldedBudgets.delete(key);
    this.foldedBudgets.set(key, record);
    add(totals, record);
    // Bounded like the cap: the least recently updated folded tenant leaves the sum.
    if (this.foldedBudgets.size > tenantCap.max * PERIODS.length) {
      const [oldestKey, oldest] = this.foldedBudgets.entries().next().value as [
        string,
        TokenBudgetRecord,
      ];
      this.foldedBudgets.delete(oldestKey);
      const oldestTotals = this.otherTotals.get(oldest.period);
      if (oldestTotals) {
        subtract(oldestTotals, oldest);
        setBudget(families, OVERFLOW_LABEL, oldest.period, oldestTotals);
      }
    }
    this.otherTotals.set(period, totals);
    setBudget(families, OVERFLOW_LABEL, period, totals);
  }

  private swallow(method: string, error: unknown): void {
    this.logger.warn({ event: 'metrics.record.failed', method, err: error }, 'Metric not recorded');
  }
}

function setBudget(
  families: MetricFamilies,
  tenantId: string,
  period: BudgetPeriod,
  values: { remaining: number; used: number; limit?: number },
): void {
  const labels = { tenant_id: tenantId, period };
  families.tokenBudgetRemaining.set(labels, finiteOr0(values.remaining));
  families.tokenBudgetUsed.set(labels, finiteOr0(values.used));
  if (values.limit !== undefined) families.tokenBudgetLimit.set(labels, finiteOr0(values.limit));
}

function add(totals: BudgetTotals, record: TokenBudgetRecord): void {
  totals.remaining += finiteOr0(record.remaining);
  totals.used += finiteOr0(record.used);
  totals.limit += finiteOr0(record.limit ?? 0);
}

function subtract(totals: BudgetTotals, record: TokenBudgetRecord): void {
  totals.remaining -= finiteOr0(record.remaining);
  totals.used -= finiteOr0(record.used);
  totals.limit -= finiteOr0(record.limit ?? 0);
}

function observeSeconds<T extends string>(
  histogram: Histogram<T>,
  labels: LabelValues<T>,
  seconds: number,
): void {
  if (!(seconds >= 0 && Number.isFinite(seconds))) return;
  observeDuration(histogram, labels, seconds, currentTraceId());
}

function nonNegative(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

function finiteOr0(value: number): number {
  return Number.isFinite(value) ? value : 0;
}

function noop(): void {}
