import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram, LabelValues } from 'prom-client';
import { APP_CONFIG } from '../../config';
import type { AppConfig } from '../../config';
import { BUDGET_PERIODS, LOG_EVENTS, RUN_REFUSAL_REASONS, RUN_STATUSES } from '../catalog';
import type { BudgetPeriod, RunRefusalReason, RunStatus, ToolCallRefusal } from '../catalog';
import { sampledTraceId } from '../context';
import { PinoLogger } from '../logging';
import { LabelCap, normaliseLabelValue, TenantFairLabelCap } from './label-cap';
import { LlmPriceTable } from './llm-price-table';
import {
  EXEMPLAR_TRACE_ID,
  MAX_AGENT_TYPE_LABEL_VALUES,
  MAX_HEALTH_COMPONENT_LABEL_VALUES,
  MAX_LABEL_VALUES_PER_TENANT,
  MAX_MODEL_LABEL_VALUES,
  MAX_TOOL_NAME_LABEL_VALUES,
  METRIC,
  OVERFLOW_LABEL,
} from './metric-names';
import { ScrapeSources } from './metric-providers';
import type {
  AgentRunRecord,
  BudgetSnapshotProvider,
  LlmRequestRecord,
  TokenBudgetRecord,
  ToolCallRecord,
} from './metrics.types';

/** How long a scrape waits for the budget snapshot before keeping the last values. */
export const BUDGET_SNAPSHOT_TIMEOUT_MS = 1000;

const RUN_STATUS_SET: ReadonlySet<string> = new Set(RUN_STATUSES);
/** The unpriced-model warning is written for this many distinct models at most (models come from tenants). */
const MAX_UNPRICED_WARNINGS = 100;
const LLM_STATUSES: ReadonlySet<string> = new Set(['success', 'error', 'cancelled']);
const RUN_REFUSAL_REASON_SET: ReadonlySet<string> = new Set(RUN_REFUSAL_REASONS);

/**
 * The one API through which code records metrics (the original's
 * record_agent_run, record_llm_request, record_tool_call, update_token_budget).
 * The observers call it; custom code may too. Recording never throws into the
 * caller. With METRICS_ENABLED=false the no-op implementation is provided.
 */
export abstract class MetricsService {
  /** agent_run_duration_seconds{agent_type,status} and agent_steps_total{agent_type}. */
  abstract recordAgentRun(record: AgentRunRecord): void;
  /**
   * llm_requests_total, llm_request_duration_seconds, llm_tokens_total and
   * llm_cost_usd_total; llm_time_to_first_token_seconds for a streamed call.
   */
  abstract recordLlmRequest(record: LlmRequestRecord): void;
  /** tool_calls_total{tool_name,success} and tool_duration_seconds{tool_name}. */
  abstract recordToolCall(record: ToolCallRecord): void;
  /** The budget gauges of one tenant and period. */
  abstract updateTokenBudget(record: TokenBudgetRecord): void;
  /** token_budget_exceeded_total{period}: a model call refused by the budget. */
  abstract recordBudgetExceeded(period: BudgetPeriod): void;
  /** token_budget_overrun_tokens_total{model}: tokens past a call's max_tokens. */
  abstract recordBudgetOverrun(model: string, tenantId: string, tokens: number): void;
  /** tool_calls_refused_total{tool_name,reason}: a tool call refused without running. */
  abstract recordToolRefused(toolName: string, reason: ToolCallRefusal): void;
  /** agent_runs_refused_total{tenant_id,reason}: a run refused before it started. */
  abstract recordRunRefused(tenantId: string, reason: RunRefusalReason): void;
  /** Increments active_agent_runs; the returned function decrements it (call exactly once). */
  abstract startAgentRun(): () => void;
  /** agent_runs_interrupted_total: runs the sweeper found left `running` and finished. */
  abstract recordRunsInterrupted(count: number): void;
  /** health_component_up{component} (1/0) and health_check_duration_seconds{component}. */
  abstract recordHealthCheck(component: string, up: boolean, durationSeconds: number): void;
  /**
   * Makes the budget gauges true on every scrape: `provider` reads the shared
   * ledger (Redis or the in-process store) for the current windows of every
   * recently seen tenant. Undefined removes it.
   */
  abstract setBudgetSnapshotProvider(provider: BudgetSnapshotProvider | undefined): void;
  /** Rebuilds the budget gauges from the snapshot provider now (what a scrape does). */
  abstract refreshBudgets(): Promise<void>;
}

/** METRICS_ENABLED=false: every method returns at once. */
export class NoopMetricsService extends MetricsService {
  recordAgentRun(): void {}
  recordLlmRequest(): void {}
  recordToolCall(): void {}
  updateTokenBudget(): void {}
  recordBudgetExceeded(): void {}
  recordBudgetOverrun(): void {}
  recordToolRefused(): void {}
  recordRunRefused(): void {}
  startAgentRun(): () => void {
    return noop;
  }
  recordRunsInterrupted(): void {}
  recordHealthCheck(): void {}
  setBudgetSnapshotProvider(): void {}
  refreshBudgets(): Promise<void> {
    return Promise.resolve();
  }
}

interface BudgetTotals {
  remaining: number;
  used: number;
  limit: number;
  lastRefusedAt?: number;
}

/**
 * The metrics of one application, on its own registry (see metric-providers.ts).
 * Label values that come from users or models are capped; duration histograms
 * carry the current sampled trace id as an OpenMetrics exemplar.
 */
@Injectable()
export class LiveMetricsService extends MetricsService implements OnApplicationShutdown {
  private readonly caps: {
    readonly tenant: LabelCap;
    readonly refusedTenant: LabelCap;
    readonly model: TenantFairLabelCap;
    readonly agentType: TenantFairLabelCap;
    readonly toolName: LabelCap;
    readonly component: LabelCap;
  };
  /** Tenants past the cap, summed into tenant_id="_other" (bounded like the cap). */
  private readonly foldedBudgets = new Map<string, TokenBudgetRecord>();
  private readonly otherTotals = new Map<BudgetPeriod, BudgetTotals>();
  private budgetProvider: BudgetSnapshotProvider | undefined;
  private budgetRefresh: Promise<void> | undefined;
  /** (period, tenant) pairs the last snapshot folded into _other: a fold is counted when it begins. */
  private snapshotFolded = new Set<string>();
  private readonly unpricedWarned = new Set<string>();

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly prices: LlmPriceTable,
    private readonly sources: ScrapeSources,
    private readonly logger: PinoLogger,
    @InjectMetric(METRIC.llmRequests) private readonly llmRequests: Counter<'model' | 'status'>,
    @InjectMetric(METRIC.llmRequestDuration) private readonly llmDuration: Histogram<'model'>,
    @InjectMetric(METRIC.llmTimeToFirstToken)
    private readonly llmTimeToFirstToken: Histogram<'model'>,
    @InjectMetric(METRIC.llmTokens) private readonly llmTokens: Counter<'model' | 'token_type'>,
    @InjectMetric(METRIC.llmCost) private readonly llmCost: Counter<'model'>,
    @InjectMetric(METRIC.llmUnpricedTokens) private readonly llmUnpriced: Counter<'model'>,
    @InjectMetric(METRIC.activeAgentRuns) private readonly activeAgentRuns: Gauge,
    @InjectMetric(METRIC.agentRunDuration)
    private readonly agentRunDuration: Histogram<'agent_type' | 'status'>,
    @InjectMetric(METRIC.agentSteps) private readonly agentSteps: Counter<'agent_type'>,
    @InjectMetric(METRIC.agentRunsRefused)
    private readonly runsRefused: Counter<'tenant_id' | 'reason'>,
    @InjectMetric(METRIC.agentRunsInterrupted) private readonly runsInterrupted: Counter,
    @InjectMetric(METRIC.tokenBudgetRemaining)
    private readonly budgetRemaining: Gauge<'tenant_id' | 'period'>,
    @InjectMetric(METRIC.tokenBudgetUsed)
    private readonly budgetUsed: Gauge<'tenant_id' | 'period'>,
    @InjectMetric(METRIC.tokenBudgetLimit)
    private readonly budgetLimit: Gauge<'tenant_id' | 'period'>,
    @InjectMetric(METRIC.tokenBudgetLastRefused)
    private readonly budgetLastRefused: Gauge<'tenant_id' | 'period'>,
    @InjectMetric(METRIC.tokenBudgetExceeded) private readonly budgetExceeded: Counter<'period'>,
    @InjectMetric(METRIC.tokenBudgetOverrun) private readonly budgetOverrun: Counter<'model'>,
    @InjectMetric(METRIC.toolCalls) private readonly toolCalls: Counter<'tool_name' | 'success'>,
    @InjectMetric(METRIC.toolCallsRefused)
    private readonly toolCallsRefused: Counter<'tool_name' | 'reason'>,
    @InjectMetric(METRIC.toolDuration) private readonly toolDuration: Histogram<'tool_name'>,
    @InjectMetric(METRIC.healthComponentUp) private readonly componentUp: Gauge<'component'>,
    @InjectMetric(METRIC.healthCheckDuration)
    private readonly healthDuration: Histogram<'component'>,
    @InjectMetric(METRIC.labelOverflow) labelOverflow: Counter<'metric'>,
  ) {
    super();
    this.logger.setContext(MetricsService.name);
    const cap = (max: number, metrics: string[]): LabelCap =>
      new LabelCap(max, labelOverflow, metrics);
    const knownModels = new Set(config.metrics.knownModels.map((model) => model.toLowerCase()));
    this.caps = {
      tenant: cap(config.metrics.maxTenants, [
        METRIC.tokenBudgetRemaining,
        METRIC.tokenBudgetUsed,
        METRIC.tokenBudgetLimit,
      ]),
      // Each tenant brings exactly one value of its own, so first come first kept is fair here.
      refusedTenant: cap(config.metrics.maxTenants, [METRIC.agentRunsRefused]),
      // A model the platform knows (priced, or configured) always keeps its own series.
      model: new TenantFairLabelCap(
        MAX_MODEL_LABEL_VALUES,
        MAX_LABEL_VALUES_PER_TENANT,
        (model) => knownModels.has(model.toLowerCase()) || prices.has(model),
        labelOverflow,
        [
          METRIC.llmRequests,
          METRIC.llmRequestDuration,
          METRIC.llmTimeToFirstToken,
          METRIC.llmTokens,
          METRIC.llmCost,
          METRIC.llmUnpricedTokens,
          METRIC.tokenBudgetOverrun,
        ],
      ),
      agentType: new TenantFairLabelCap(
        MAX_AGENT_TYPE_LABEL_VALUES,
        MAX_LABEL_VALUES_PER_TENANT,
        () => false,
        labelOverflow,
        [METRIC.agentRunDuration, METRIC.agentSteps],
      ),
      toolName: cap(MAX_TOOL_NAME_LABEL_VALUES, [
        METRIC.toolCalls,
        METRIC.toolDuration,
        METRIC.toolCallsRefused,
      ]),
      component: cap(MAX_HEALTH_COMPONENT_LABEL_VALUES, [
        METRIC.healthComponentUp,
        METRIC.healthCheckDuration,
      ]),
    };
    // Series that alerts and rate() need before the first event.
    for (const period of BUDGET_PERIODS) this.budgetExceeded.labels(period).inc(0);
  }

  recordAgentRun(record: AgentRunRecord): void {
    try {
      const agentType = this.caps.agentType.fold(record.agentType, record.tenantId);
      const status = RUN_STATUS_SET.has(record.status) ? record.status : ('error' as RunStatus);
      observeSeconds(
        this.agentRunDuration,
        { agent_type: agentType, status },
        record.durationSeconds,
      );
      this.agentSteps.labels(agentType).inc(nonNegative(record.steps));
    } catch (error) {
      this.swallow('recordAgentRun', error);
    }
  }

  /** Priced by the table; a model it does not know costs 0. */
  recordLlmRequest(record: LlmRequestRecord): void {
    try {
      const model = this.caps.model.fold(record.model, record.tenantId);
      const status = LLM_STATUSES.has(record.status) ? record.status : 'error';
      this.llmRequests.labels(model, status).inc();
      observeSeconds(this.llmDuration, { model }, record.durationSeconds);
      if (record.timeToFirstTokenSeconds !== undefined) {
        observeSeconds(this.llmTimeToFirstToken, { model }, record.timeToFirstTokenSeconds);
      }
      const prompt = nonNegative(record.promptTokens);
      const completion = nonNegative(record.completionTokens);
      this.llmTokens.labels(model, 'prompt').inc(prompt);
      this.llmTokens.labels(model, 'completion').inc(completion);
      const requested = normaliseLabelValue(record.model);
      if (this.prices.has(requested)) {
        this.llmCost.labels(model).inc(this.prices.costUsd(requested, prompt, completion));
      } else {
        // Costs 0 in llm_cost_usd_total: counted, so the cost panels say how much they miss.
        this.llmCost.labels(model).inc(0);
        this.llmUnpriced.labels(model).inc(prompt + completion);
        if (prompt + completion > 0) this.warnUnpriced(requested);
      }
    } catch (error) {
      this.swallow('recordLlmRequest', error);
    }
  }

  recordToolCall(record: ToolCallRecord): void {
    try {
      const toolName = this.caps.toolName.fold(record.toolName);
      this.toolCalls.labels(toolName, record.success ? 'true' : 'false').inc();
      observeSeconds(this.toolDuration, { tool_name: toolName }, record.durationSeconds);
    } catch (error) {
      this.swallow('recordToolCall', error);
    }
  }

  recordToolRefused(toolName: string, reason: ToolCallRefusal): void {
    try {
      const label = reason === 'not_allowed' ? 'not_allowed' : 'unknown_tool';
      this.toolCallsRefused.labels(this.caps.toolName.fold(toolName), label).inc();
    } catch (error) {
      this.swallow('recordToolRefused', error);
    }
  }

  /**
   * Past METRICS_MAX_TENANTS tenants, values are summed into tenant_id="_other"
   * and each such update counts in metrics_label_overflow_total.
   */
  updateTokenBudget(record: TokenBudgetRecord): void {
    try {
      const tenantId = normaliseLabelValue(record.tenantId);
      if (this.caps.tenant.tryAdmit(tenantId)) {
        this.setBudget(tenantId, record.period, record);
      } else {
        this.caps.tenant.countOverflow();
        this.foldBudget(tenantId, record);
      }
    } catch (error) {
      this.swallow('updateTokenBudget', error);
    }
  }

  recordBudgetExceeded(period: BudgetPeriod): void {
    try {
      this.budgetExceeded.labels(period === 'monthly' ? 'monthly' : 'daily').inc();
    } catch (error) {
      this.swallow('recordBudgetExceeded', error);
    }
  }

  recordBudgetOverrun(model: string, tenantId: string, tokens: number): void {
    try {
      this.budgetOverrun.labels(this.caps.model.fold(model, tenantId)).inc(nonNegative(tokens));
    } catch (error) {
      this.swallow('recordBudgetOverrun', error);
    }
  }

  recordRunRefused(tenantId: string, reason: RunRefusalReason): void {
    try {
      const label = RUN_REFUSAL_REASON_SET.has(reason) ? reason : 'tenant_concurrency';
      this.runsRefused.labels(this.caps.refusedTenant.fold(tenantId), label).inc();
    } catch (error) {
      this.swallow('recordRunRefused', error);
    }
  }

  recordRunsInterrupted(count: number): void {
    try {
      this.runsInterrupted.inc(nonNegative(count));
    } catch (error) {
      this.swallow('recordRunsInterrupted', error);
    }
  }

  startAgentRun(): () => void {
    const gauge = this.activeAgentRuns;
    gauge.inc();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      gauge.dec();
    };
  }

  recordHealthCheck(component: string, up: boolean, durationSeconds: number): void {
    try {
      const label = this.caps.component.fold(component);
      this.componentUp.labels(label).set(up ? 1 : 0);
      observeSeconds(this.healthDuration, { component: label }, durationSeconds);
    } catch (error) {
      this.swallow('recordHealthCheck', error);
    }
  }

  /**
   * On each scrape of /metrics the three budget gauges are rebuilt from the
   * provider's snapshot alone: tenants it no longer returns disappear, a
   * period that just rolled over reads used 0 without waiting for traffic,
   * and every replica reports the same numbers. The provider is called once
   * per scrape (shared by the three gauges) and bounded by
   * BUDGET_SNAPSHOT_TIMEOUT_MS: when it fails or is late, the gauges keep
   * their last values and a warning is logged. Tenants past
   * METRICS_MAX_TENANTS are summed into tenant_id="_other".
   */
  setBudgetSnapshotProvider(provider: BudgetSnapshotProvider | undefined): void {
    this.budgetProvider = provider;
    this.sources.refreshBudgets = provider ? () => this.refreshBudgets() : undefined;
  }

  refreshBudgets(): Promise<void> {
    this.budgetRefresh ??= this.loadBudgets().finally(() => {
      this.budgetRefresh = undefined;
    });
    return this.budgetRefresh;
  }

  onApplicationShutdown(): void {
    this.setBudgetSnapshotProvider(undefined);
  }

  private async loadBudgets(): Promise<void> {
    const provider = this.budgetProvider;
    if (!provider) return;
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
      this.applyBudgetSnapshot(records);
    } catch (error) {
      this.logger.warn(
        { event: LOG_EVENTS.metricsBudgetSnapshotFailed, err: error },
        'Budget gauges keep their last values: the ledger snapshot failed',
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The gauges from the ledger alone, each period giving its tenant slots in
   * the snapshot's order (the order of first usage in the period): the first
   * METRICS_MAX_TENANTS tenants keep their own series for the whole period,
   * the rest are summed into tenant_id="_other", and each tenant newly folded
   * counts once in metrics_label_overflow_total.
   */
  private applyBudgetSnapshot(records: readonly TokenBudgetRecord[]): void {
    this.budgetRemaining.reset();
    this.budgetUsed.reset();
    this.budgetLimit.reset();
    this.budgetLastRefused.reset();
    const slotsTaken = new Map<BudgetPeriod, number>();
    const other = new Map<BudgetPeriod, BudgetTotals>();
    const folded = new Set<string>();
    for (const record of records) {
      const tenantId = normaliseLabelValue(record.tenantId);
      const taken = slotsTaken.get(record.period) ?? 0;
      if (taken < this.caps.tenant.max) {
        slotsTaken.set(record.period, taken + 1);
        this.setBudget(tenantId, record.period, record);
        continue;
      }
      const totals = other.get(record.period) ?? { remaining: 0, used: 0, limit: 0 };
      add(totals, record);
      // The fold was refused when any of its tenants was, last.
      totals.lastRefusedAt = Math.max(
        totals.lastRefusedAt ?? 0,
        finiteOr0(record.lastRefusedAt ?? 0),
      );
      other.set(record.period, totals);
      folded.add(`${record.period}\u0000${tenantId}`);
    }
    for (const [period, totals] of other) this.setBudget(OVERFLOW_LABEL, period, totals);
    for (const key of folded) {
      if (!this.snapshotFolded.has(key)) this.caps.tenant.countOverflow();
    }
    this.snapshotFolded = folded;
  }

  /** Adds a folded tenant's latest values to the `_other` sums, replacing its previous ones. */
  private foldBudget(tenantId: string, record: TokenBudgetRecord): void {
    const period = record.period;
    const key = `${period}\u0000${tenantId}`;
    const totals = this.otherTotals.get(period) ?? { remaining: 0, used: 0, limit: 0 };
    const previous = this.foldedBudgets.get(key);
    if (previous) subtract(totals, previous);
    this.foldedBudgets.delete(key);
    this.foldedBudgets.set(key, record);
    add(totals, record);
    // Bounded like the cap: the least recently updated folded tenant leaves the sum.
    if (this.foldedBudgets.size > this.caps.tenant.max * BUDGET_PERIODS.length) {
      const [oldestKey, oldest] = this.foldedBudgets.entries().next().value as [
        string,
        TokenBudgetRecord,
      ];
      this.foldedBudgets.delete(oldestKey);
      const oldestTotals = this.otherTotals.get(oldest.period);
      if (oldestTotals) {
        subtract(oldestTotals, oldest);
        this.setBudget(OVERFLOW_LABEL, oldest.period, oldestTotals);
      }
    }
    this.otherTotals.set(period, totals);
    this.setBudget(OVERFLOW_LABEL, period, totals);
  }

  private setBudget(
    tenantId: string,
    period: BudgetPeriod,
    values: { remaining: number; used: number; limit?: number; lastRefusedAt?: number },
  ): void {
    const labels = { tenant_id: tenantId, period };
    this.budgetRemaining.set(labels, finiteOr0(values.remaining));
    this.budgetUsed.set(labels, finiteOr0(values.used));
    if (values.limit !== undefined) this.budgetLimit.set(labels, finiteOr0(values.limit));
    // Only tenants refused in the period: a zero for every other would be a series each for nothing.
    if (values.lastRefusedAt !== undefined && values.lastRefusedAt > 0) {
      this.budgetLastRefused.set(labels, values.lastRefusedAt);
    }
  }

  /** Once per model per process: the counter keeps the running total. */
  private warnUnpriced(model: string): void {
    if (this.unpricedWarned.has(model) || this.unpricedWarned.size >= MAX_UNPRICED_WARNINGS) return;
    this.unpricedWarned.add(model);
    this.logger.warn(
      { event: LOG_EVENTS.llmModelUnpriced, model, prices_as_of: this.prices.asOf },
      'A model without a price: its tokens cost 0 in llm_cost_usd_total; add it to the price table',
    );
  }

  private swallow(method: string, error: unknown): void {
    this.logger.warn(
      { event: LOG_EVENTS.metricsRecordFailed, method, err: error },
      'Metric not recorded',
    );
  }
}

/**
 * Observes a duration, with `trace_id` as the bucket's exemplar when a
 * sampled trace is current. Without one it takes prom-client's cheaper
 * labelled-child path.
 */
export function observeDuration<T extends string>(
  histogram: Histogram<T>,
  labels: LabelValues<T>,
  seconds: number,
  traceId: string | undefined,
): void {
  if (traceId === undefined) {
    histogram.labels(labels).observe(seconds);
  } else {
    histogram.observe({
      labels,
      value: seconds,
      exemplarLabels: { [EXEMPLAR_TRACE_ID]: traceId } as LabelValues<T>,
    });
  }
}

function observeSeconds<T extends string>(
  histogram: Histogram<T>,
  labels: LabelValues<T>,
  seconds: number,
): void {
  if (!(seconds >= 0 && Number.isFinite(seconds))) return;
  observeDuration(histogram, labels, seconds, sampledTraceId());
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

function nonNegative(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

function finiteOr0(value: number): number {
  return Number.isFinite(value) ? value : 0;
}

function noop(): void {}
