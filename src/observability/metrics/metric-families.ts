import { collectDefaultMetrics, Counter, Gauge, Histogram, register } from 'prom-client';
import type { LabelValues, Metric } from 'prom-client';
import { droppedSpanCount } from '../telemetry';
import {
  AGENT_RUN_DURATION_BUCKETS,
  EXEMPLAR_TRACE_ID,
  HEALTH_CHECK_DURATION_BUCKETS,
  HTTP_DURATION_BUCKETS,
  LLM_DURATION_BUCKETS,
  METRIC,
  TOOL_DURATION_BUCKETS,
} from './metric-names';

/**
 * Every metric family of SPEC section 5, as prom-client objects in the
 * global registry. One set per process: several Nest applications in one
 * process (the e2e tests) share it instead of failing with "already
 * registered", and if something cleared the registry the next call rebuilds it.
 */
export interface MetricFamilies {
  readonly httpRequests: Counter<'method' | 'endpoint' | 'status'>;
  readonly httpRequestDuration: Histogram<'method' | 'endpoint'>;
  readonly activeConnections: Gauge;
  readonly llmRequests: Counter<'model' | 'status'>;
  readonly llmRequestDuration: Histogram<'model'>;
  readonly llmTokens: Counter<'model' | 'token_type'>;
  readonly llmCost: Counter<'model'>;
  readonly activeAgentRuns: Gauge;
  readonly agentRunDuration: Histogram<'agent_type' | 'status'>;
  readonly agentSteps: Counter<'agent_type'>;
  readonly tokenBudgetRemaining: Gauge<'tenant_id' | 'period'>;
  readonly tokenBudgetUsed: Gauge<'tenant_id' | 'period'>;
  readonly tokenBudgetLimit: Gauge<'tenant_id' | 'period'>;
  readonly tokenBudgetExceeded: Counter<'period'>;
  readonly toolCalls: Counter<'tool_name' | 'success'>;
  readonly toolDuration: Histogram<'tool_name'>;
  readonly healthComponentUp: Gauge<'component'>;
  readonly healthCheckDuration: Histogram<'component'>;
  readonly labelOverflow: Counter<'metric'>;
  readonly otelSpansDropped: Counter;
}

/** Open-connection counts of the HTTP servers of this process (summed into active_connections). */
const connectionSources = new Set<() => Promise<number>>();

/** Refreshes the budget gauges from the shared ledger on each scrape; one owner per process. */
let budgetCollector: (() => Promise<void>) | undefined;

let families: MetricFamilies | undefined;

const GAUGES_NAMED_TOTAL = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** The process's metric families, created (with the default Node.js metrics) on first use. */
export function metricFamilies(): MetricFamilies {
  if (families && register.getSingleMetric(METRIC.httpRequests) === families.httpRequests) {
    return families;
  }
  families = createFamilies();
  if (!register.getSingleMetric('process_cpu_user_seconds_total')) {
    collectDefaultMetrics();
    // Gauges named _total (promtool rejects them); nodejs_active_{handles,requests,resources}{type} remain.
    for (const name of GAUGES_NAMED_TOTAL) register.removeSingleMetric(name);
  }
  return families;
}

/** Adds a server's open-connection count to active_connections; the returned function removes it. */
export function addConnectionSource(source: () => Promise<number>): () => void {
  connectionSources.add(source);
  return () => connectionSources.delete(source);
}

/**
 * Makes `collector` the one that refreshes the budget gauges at scrape time
 * (the last application started in the process wins); the returned function
 * releases it if it is still the owner.
 */
export function setBudgetCollector(collector: () => Promise<void>): () => void {
  budgetCollector = collector;
  return () => {
    if (budgetCollector === collector) budgetCollector = undefined;
  };
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

function createFamilies(): MetricFamilies {
  const created: MetricFamilies = {
    httpRequests: counter(METRIC.httpRequests, 'HTTP requests answered, by route template', [
      'method',
      'endpoint',
      'status',
    ]),
    httpRequestDuration: histogram(
      METRIC.httpRequestDuration,
      'HTTP request duration from routing to the last byte, by route template',
      ['method', 'endpoint'],
      HTTP_DURATION_BUCKETS,
    ),
    activeConnections: replace(
      METRIC.activeConnections,
      () =>
        new Gauge({
          name: METRIC.activeConnections,
          help: 'Open connections of the HTTP server',
          async collect() {
            const counts = await Promise.all([...connectionSources].map((source) => source()));
            this.set(counts.reduce((sum, count) => sum + count, 0));
          },
        }),
    ),
    llmRequests: counter(METRIC.llmRequests, 'LLM calls by model and outcome', ['model', 'status']),
    llmRequestDuration: histogram(
      METRIC.llmRequestDuration,
      'LLM call duration, retries included',
      ['model'],
      LLM_DURATION_BUCKETS,
    ),
    llmTokens: counter(METRIC.llmTokens, 'LLM tokens by model and token type', [
      'model',
      'token_type',
    ]),
    llmCost: counter(
      METRIC.llmCost,
      'Estimated LLM spend in USD from the dated per-model price table',
      ['model'],
    ),
    activeAgentRuns: replace(
      METRIC.activeAgentRuns,
      () => new Gauge({ name: METRIC.activeAgentRuns, help: 'Agent runs in progress' }),
    ),
    agentRunDuration: histogram(
      METRIC.agentRunDuration,
      'Agent run duration by agent type and final status',
      ['agent_type', 'status'],
      AGENT_RUN_DURATION_BUCKETS,
    ),
    agentSteps: counter(METRIC.agentSteps, 'Agent steps (one model call and its tools)', [
      'agent_type',
    ]),
    tokenBudgetRemaining: budgetGauge(
      METRIC.tokenBudgetRemaining,
      'Tokens left in the current budget period',
    ),
    tokenBudgetUsed: budgetGauge(
      METRIC.tokenBudgetUsed,
      'Tokens used in the current budget period (a gauge: the name is kept from the original)',
    ),
    tokenBudgetLimit: budgetGauge(METRIC.tokenBudgetLimit, 'Token limit of the budget period'),
    tokenBudgetExceeded: counter(
      METRIC.tokenBudgetExceeded,
      'Model calls refused because a token budget was exhausted',
      ['period'],
    ),
    toolCalls: counter(METRIC.toolCalls, 'Tool calls by tool and outcome', [
      'tool_name',
      'success',
    ]),
    toolDuration: histogram(
      METRIC.toolDuration,
      'Tool call duration',
      ['tool_name'],
      TOOL_DURATION_BUCKETS,
    ),
    healthComponentUp: replace(
      METRIC.healthComponentUp,
      () =>
        new Gauge({
          name: METRIC.healthComponentUp,
          help: 'Whether the last health evaluation found the component up (1) or down (0)',
          labelNames: ['component'],
        }),
    ),
    healthCheckDuration: histogram(
      METRIC.healthCheckDuration,
      'Duration of each component health check',
      ['component'],
      HEALTH_CHECK_DURATION_BUCKETS,
    ),
    labelOverflow: counter(
      METRIC.labelOverflow,
      'Samples whose user-supplied label value was folded into _other by a cardinality cap',
      ['metric'],
    ),
    otelSpansDropped: replace(
      METRIC.otelSpansDropped,
      () =>
        new Counter({
          name: METRIC.otelSpansDropped,
          help: 'Spans the exporter queue had to drop',
          // The SDK keeps the count (its span processor lives outside DI); read it at scrape time.
          collect() {
            this.reset();
            this.inc(droppedSpanCount());
          },
        }),
    ),
  };
  // Series that alerts and rate() need before the first event.
  for (const period of ['daily', 'monthly']) created.tokenBudgetExceeded.labels(period).inc(0);
  return created;
}

function counter<T extends string>(name: string, help: string, labelNames: T[]): Counter<T> {
  return replace(name, () => new Counter<T>({ name, help, labelNames }));
}

function histogram<T extends string>(
  name: string,
  help: string,
  labelNames: T[],
  buckets: number[],
): Histogram<T> {
  // Exemplars are always enabled: they cost nothing until an observation carries a trace id.
  // prom-client refuses them at construction on a Prometheus-text registry, yet the global
  // registry serves both formats (OpenMetricsView prints the exemplars): register by hand.
  return replace(name, () => {
    const created = new Histogram<T>({
      name,
      help,
      labelNames,
      buckets,
      enableExemplars: true,
      registers: [],
    });
    register.registerMetric(created);
    return created;
  });
}

function budgetGauge(name: string, help: string): Gauge<'tenant_id' | 'period'> {
  return replace(
    name,
    () =>
      new Gauge<'tenant_id' | 'period'>({
        name,
        help,
        labelNames: ['tenant_id', 'period'],
        // All three gauges share one ledger read per scrape (the collector dedupes).
        collect: () => budgetCollector?.(),
      }),
  );
}

/** A stale metric of the same name (a half-cleared registry) gives way to the new one. */
function replace<M extends Metric>(name: string, create: () => M): M {
  register.removeSingleMetric(name);
  return create();
}
