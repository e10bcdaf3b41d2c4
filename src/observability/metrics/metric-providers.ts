import type { Provider } from '@nestjs/common';
import { getToken, makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { droppedSpanCount } from '../telemetry';
import {
  AGENT_RUN_DURATION_BUCKETS,
  HEALTH_CHECK_DURATION_BUCKETS,
  HTTP_DURATION_BUCKETS,
  LLM_DURATION_BUCKETS,
  METRIC,
  TOOL_DURATION_BUCKETS,
} from './metric-names';

/** DI token of the application's prom-client Registry. */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

/**
 * What the scrape-time collectors read: the open-connection counts of the
 * application's HTTP servers, and the refresh of the budget gauges from the
 * shared ledger. Filled in at start by the HTTP hooks and MetricsService.
 */
export class ScrapeSources {
  readonly connections = new Set<() => Promise<number>>();
  refreshBudgets: (() => Promise<void>) | undefined;
}

/** Gauges named _total (promtool rejects them); nodejs_active_{handles,requests,resources}{type} remain. */
const GAUGES_NAMED_TOTAL = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * A registry of the application's own, with prom-client's default process
 * and Node.js metrics in it. @willsoto/nestjs-prometheus registers metrics on
 * prom-client's global register by default; several applications live in one
 * process (the e2e tests), and with one global register the last one built
 * would own every family, so each application passes its own in `registers`.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of GAUGES_NAMED_TOTAL) registry.removeSingleMetric(name);
  return registry;
}

/** Every metric family as a Nest provider (@InjectMetric(name) to use one), registered on `registry`. */
export function metricProviders(registry: Registry): Provider[] {
  const registers = [registry];
  const budgetGauge = (name: string, help: string): Provider =>
    makeGaugeProvider({
      name,
      help,
      labelNames: ['tenant_id', 'period'],
      registers,
      // The three budget gauges share one ledger read per scrape (the refresh dedupes).
      collect: (sources: ScrapeSources) => sources.refreshBudgets?.(),
      inject: [ScrapeSources],
    });
  return [
    { provide: METRICS_REGISTRY, useValue: registry },
    ScrapeSources,
    makeCounterProvider({
      name: METRIC.httpRequests,
      help: 'HTTP requests answered, by route template',
      labelNames: ['method', 'endpoint', 'status'],
      registers,
    }),
    exemplarHistogram(registry, {
      name: METRIC.httpRequestDuration,
      help: 'HTTP request duration from routing to the last byte, by route template',
      labelNames: ['method', 'endpoint'],
      buckets: HTTP_DURATION_BUCKETS,
    }),
    makeGaugeProvider({
      name: METRIC.activeConnections,
      help: 'Open connections of the HTTP server',
      registers,
      async collect(this: { set(value: number): void }, sources: ScrapeSources) {
        const counts = await Promise.all([...sources.connections].map((source) => source()));
        this.set(counts.reduce((sum, count) => sum + count, 0));
      },
      inject: [ScrapeSources],
    }),
    makeCounterProvider({
      name: METRIC.llmRequests,
      help: 'LLM calls by model and outcome',
      labelNames: ['model', 'status'],
      registers,
    }),
    exemplarHistogram(registry, {
      name: METRIC.llmRequestDuration,
      help: 'LLM call duration, retries included',
      labelNames: ['model'],
      buckets: LLM_DURATION_BUCKETS,
    }),
    exemplarHistogram(registry, {
      name: METRIC.llmTimeToFirstToken,
      help: 'Time from the start of a streamed LLM call (retries included) to its first chunk',
      labelNames: ['model'],
      buckets: LLM_DURATION_BUCKETS,
    }),
    makeCounterProvider({
      name: METRIC.llmTokens,
      help: 'LLM tokens by model and token type',
      labelNames: ['model', 'token_type'],
      registers,
    }),
    makeCounterProvider({
      name: METRIC.llmCost,
      help: 'Estimated LLM spend in USD from the dated per-model price table',
      labelNames: ['model'],
      registers,
    }),
    makeCounterProvider({
      name: METRIC.llmUnpricedTokens,
      help: 'LLM tokens of models the price table does not know (they cost 0 in llm_cost_usd_total)',
      labelNames: ['model'],
      registers,
    }),
    makeGaugeProvider({
      name: METRIC.activeAgentRuns,
      help: 'Agent runs in progress',
      registers,
    }),
    exemplarHistogram(registry, {
      name: METRIC.agentRunDuration,
      help: 'Agent run duration by agent type and final status',
      labelNames: ['agent_type', 'status'],
      buckets: AGENT_RUN_DURATION_BUCKETS,
    }),
    makeCounterProvider({
      name: METRIC.agentSteps,
      help: 'Agent steps (one model call and its tools)',
      labelNames: ['agent_type'],
      registers,
    }),
    makeCounterProvider({
      name: METRIC.agentRunsRefused,
      help: 'Agent runs refused before they started (tenant_concurrency: the tenant had TENANT_MAX_CONCURRENT_RUNS in flight)',
      labelNames: ['tenant_id', 'reason'],
      registers,
    }),
    makeCounterProvider({
      name: METRIC.agentRunsInterrupted,
      help: 'Runs found still running past RUN_TIMEOUT_MS plus a margin (their process died or lost the write), finished as error / interrupted',
      registers,
    }),
    budgetGauge(METRIC.tokenBudgetRemaining, 'Tokens left in the current budget period'),
    budgetGauge(
      METRIC.tokenBudgetUsed,
      'Tokens used in the current budget period (a gauge: the name is kept from the original)',
    ),
    budgetGauge(METRIC.tokenBudgetLimit, 'Token limit of the budget period'),
    budgetGauge(
      METRIC.tokenBudgetLastRefused,
      'When a model call of the tenant was last refused by this budget period (Unix seconds); only tenants refused in the period',
    ),
    makeCounterProvider({
      name: METRIC.tokenBudgetExceeded,
      help: 'Model calls refused because a token budget was exhausted',
      labelNames: ['period'],
      registers,
    }),
    makeCounterProvider({
      name: METRIC.tokenBudgetOverrun,
      help: 'Completion tokens a proxy reported beyond the max_tokens a call carried (settled at the real number)',
      labelNames: ['model'],
      registers,
    }),
    makeCounterProvider({
      name: METRIC.toolCalls,
      help: 'Tool calls by tool and outcome',
      labelNames: ['tool_name', 'success'],
      registers,
    }),
    makeCounterProvider({
      name: METRIC.toolCallsRefused,
      help: 'Tool calls refused without running: a tool the agent does not list, or no such tool (also in tool_calls_total as failed)',
      labelNames: ['tool_name', 'reason'],
      registers,
    }),
    exemplarHistogram(registry, {
      name: METRIC.toolDuration,
      help: 'Tool call duration',
      labelNames: ['tool_name'],
      buckets: TOOL_DURATION_BUCKETS,
    }),
    makeGaugeProvider({
      name: METRIC.healthComponentUp,
      help: 'Whether the last health evaluation found the component up (1) or down (0)',
      labelNames: ['component'],
      registers,
    }),
    exemplarHistogram(registry, {
      name: METRIC.healthCheckDuration,
      help: 'Duration of each component health check',
      labelNames: ['component'],
      buckets: HEALTH_CHECK_DURATION_BUCKETS,
    }),
    makeCounterProvider({
      name: METRIC.labelOverflow,
      help: 'Samples whose user-supplied label value was folded into _other by a cardinality cap',
      labelNames: ['metric'],
      registers,
      // A scrape renders every family at once: waiting for the budget refresh makes the tenants
      // it folds count in this scrape, not the next one.
      collect: (sources: ScrapeSources) => sources.refreshBudgets?.(),
      inject: [ScrapeSources],
    }),
    makeCounterProvider({
      name: METRIC.otelSpansDropped,
      help: 'Spans the exporter queue had to drop',
      registers,
      // The SDK keeps the count (its span processor lives outside DI); read it at scrape time.
      collect(this: { reset(): void; inc(value: number): void }) {
        this.reset();
        this.inc(droppedSpanCount());
      },
    }),
  ];
}

interface HistogramOptions {
  readonly name: string;
  readonly help: string;
  readonly labelNames: string[];
  readonly buckets: number[];
}

/**
 * A histogram provider of its own, where the library's makeHistogramProvider
 * cannot go: prom-client refuses exemplars at construction on a
 * Prometheus-text registry, yet one registry serves both formats (the
 * OpenMetrics view prints the exemplars), so the histogram is registered by
 * hand. Exemplars cost nothing until an observation carries a trace id.
 */
function exemplarHistogram(registry: Registry, options: HistogramOptions): Provider {
  return {
    provide: getToken(options.name),
    useFactory: () => {
      const histogram = new Histogram({ ...options, enableExemplars: true, registers: [] });
      registry.registerMetric(histogram);
      return histogram;
    },
  };
}
