/**
 * Metric names, label names and bucket boundaries. Fixed:
 * dashboards, alerts and clients depend on them. Import from here; never
 * spell a metric name anywhere else in src/.
 */
export const METRIC = {
  httpRequests: 'http_requests_total',
  httpRequestDuration: 'http_request_duration_seconds',
  activeConnections: 'active_connections',
  llmRequests: 'llm_requests_total',
  llmRequestDuration: 'llm_request_duration_seconds',
  llmTimeToFirstToken: 'llm_time_to_first_token_seconds',
  llmTokens: 'llm_tokens_total',
  llmCost: 'llm_cost_usd_total',
  llmUnpricedTokens: 'llm_unpriced_tokens_total',
  activeAgentRuns: 'active_agent_runs',
  agentRunDuration: 'agent_run_duration_seconds',
  agentSteps: 'agent_steps_total',
  agentRunsRefused: 'agent_runs_refused_total',
  agentRunsInterrupted: 'agent_runs_interrupted_total',
  tokenBudgetRemaining: 'token_budget_remaining',
  tokenBudgetUsed: 'token_budget_used_total',
  tokenBudgetLimit: 'token_budget_limit',
  tokenBudgetExceeded: 'token_budget_exceeded_total',
  tokenBudgetLastRefused: 'token_budget_last_refused_timestamp_seconds',
  tokenBudgetOverrun: 'token_budget_overrun_tokens_total',
  toolCalls: 'tool_calls_total',
  toolCallsRefused: 'tool_calls_refused_total',
  toolDuration: 'tool_duration_seconds',
  healthComponentUp: 'health_component_up',
  healthCheckDuration: 'health_check_duration_seconds',
  labelOverflow: 'metrics_label_overflow_total',
  otelSpansDropped: 'otel_spans_dropped_total',
} as const;

/** HTTP latency, 5 ms to 10 s; 2 s is a boundary because the HighLatency alert fires on it. */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 5, 10];

/** OpenTelemetry GenAI semantic-convention boundaries for gen_ai.client.operation.duration. */
export const LLM_DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/** Agent runs span several model calls; up to 300 s. */
export const AGENT_RUN_DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export const TOOL_DURATION_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export const HEALTH_CHECK_DURATION_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

/** Label value that user-supplied values fold into past their cap. */
export const OVERFLOW_LABEL = '_other';

/** Methods kept as they are in the `method` label; any other folds into OTHER. */
export const HTTP_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
]);

/** Method label for anything outside HTTP_METHODS. */
export const OTHER_METHOD = 'OTHER';

/**
 * Caps on label values that come from users or models (tenant_id has its own,
 * METRICS_MAX_TENANTS). Past the cap a value folds into OVERFLOW_LABEL.
 */
export const MAX_MODEL_LABEL_VALUES = 100;
/** Of those, how many new `model` or `agent_type` values one tenant may introduce before its own fold. */
export const MAX_LABEL_VALUES_PER_TENANT = 10;
export const MAX_AGENT_TYPE_LABEL_VALUES = 100;
export const MAX_TOOL_NAME_LABEL_VALUES = 100;
export const MAX_HEALTH_COMPONENT_LABEL_VALUES = 20;

/** Longer label values are cut: an unbounded string in every exposed line is a render-time cost. */
export const MAX_LABEL_VALUE_LENGTH = 128;

/** Exemplar label linking a histogram observation to its trace. */
export const EXEMPLAR_TRACE_ID = 'trace_id';
