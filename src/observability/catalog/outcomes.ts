/**
 * The typed records the observers take: what an agent run, a model call, a
 * tool call, a budget decision and a health check report about themselves.
 * The platform maps its own types onto these (typed descriptors beside the
 * decorated methods), so renaming a field on either side is a compile error,
 * never a silently missing attribute.
 */

/** The final status of an agent run: the `status` label of the run metrics and the stored run's status. */
export const RUN_STATUSES = [
  'success',
  'error',
  'max_steps',
  'budget_exceeded',
  'cancelled',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** The statuses that are an answer, not a failure: 201 to the client, an OK span, an info log line. */
const SUCCESSFUL_RUN_STATUSES: ReadonlySet<RunStatus> = new Set(['success', 'max_steps']);

export function isSuccessfulRunStatus(status: RunStatus): boolean {
  return SUCCESSFUL_RUN_STATUSES.has(status);
}

/** Budget periods: daily resets at 00:00 UTC, monthly on the 1st. */
export const BUDGET_PERIODS = ['daily', 'monthly'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

export interface TokenUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** True when the proxy reported no usage and the counts were estimated from text length. */
  readonly estimated: boolean;
}

/** The agent a run is for, and what it was asked. */
export interface AgentRunSubject {
  readonly agentId: string;
  readonly agentName: string;
  /** The `agent_type` label. */
  readonly agentType: string;
  readonly model: string;
  readonly maxSteps: number;
  /** The user's input (recorded only with content capture on). */
  readonly input: string;
}

export interface AgentRunReport {
  readonly status: RunStatus;
  readonly steps: number;
  readonly usage: TokenUsage & { readonly totalTokens: number };
  readonly durationMs: number;
  /** The answer (recorded only with content capture on). */
  readonly output: string | null;
  /** The short, safe error text stored with the run. */
  readonly error: string | null;
  /**
   * The run's stored error_type when it ended badly (`run_timeout`, `client_closed`,
   * `http_502`, ...): the `error.type` of a run ended with `error`.
   */
  readonly errorType?: string;
  /** Why the run stopped early, when it did. */
  readonly failure?: FailureReport;
}

/** A failure as the observers report it. */
export interface FailureReport {
  /** A low-cardinality class of failure (`error.type`, `error_type`): `timeout`, `http_503`, a class name. */
  readonly errorType: string;
  /**
   * True for a failure nobody anticipated (a bug, a crash): logged at error with its stack.
   * Anticipated ones (an outage, a refusal, a bad answer upstream) are warnings without one.
   */
  readonly unexpected: boolean;
  readonly error: unknown;
}

/** Runs found still `running` past RUN_TIMEOUT_MS plus a margin, finished by the sweeper as interrupted. */
export interface InterruptedRunsReport {
  readonly runIds: readonly string[];
  /** How old a `running` row had to be to count as interrupted. */
  readonly olderThanMs: number;
}

/** A model call as asked. */
export interface LlmCallSubject {
  /** The requested model: it labels successes and failures alike. */
  readonly model: string;
  /** The cap on the answer the request carried. */
  readonly maxTokens?: number;
  /** The conversation (recorded only with content capture on). */
  readonly messages: readonly unknown[];
  /** The answer was asked for as a stream of chunks. */
  readonly stream: boolean;
}

export interface LlmCallReport {
  readonly responseId: string;
  /** The model that answered (may differ from the requested one behind a proxy). */
  readonly responseModel: string;
  readonly finishReason: string;
  readonly usage: TokenUsage;
  readonly attempts: number;
  /** The answer (recorded only with content capture on). */
  readonly message: unknown;
  /** A streamed call: from its start (retries included) to the first chunk. */
  readonly timeToFirstChunkMs?: number;
}

export interface LlmCallFailureReport extends FailureReport {
  /** Stopped by us (the client left, the run's deadline), not failed: counted as `cancelled`. */
  readonly cancelled: boolean;
  readonly attempts: number;
  /** The proxy's HTTP status, when it answered. */
  readonly httpStatus?: number;
  /** A streamed call that failed after its first chunk: when that chunk arrived. */
  readonly timeToFirstChunkMs?: number;
}

/** A tool call the model asked for. */
export interface ToolCallSubject {
  /** The registered tool's name, or the unknown-tool label. */
  readonly toolName: string;
  readonly callId: string;
  /** The model's arguments (recorded only with content capture on). */
  readonly arguments?: unknown;
}

/** Why a tool call never ran: arguments it could not take. */
export type ToolCallRejection = 'invalid_arguments';

/**
 * Why a tool call was refused: the agent does not list the tool (its list is
 * a permission), or no tool has that name.
 */
export type ToolCallRefusal = 'not_allowed' | 'unknown_tool';

/** A model call the token budget refused before it was made. */
export interface BudgetRefusal {
  readonly period: BudgetPeriod;
  readonly requestedTokens: number;
  readonly resetsAt: Date;
}

/** A proxy that reported more completion tokens than the call's max_tokens allowed. */
export interface BudgetOverrun {
  readonly tenantId: string;
  readonly model: string;
  readonly boundTokens: number;
  readonly completionTokens: number;
}

/** A settle the ledger could not take now; it is retried in the background. */
export interface BudgetSettleDeferral {
  readonly tenantId: string;
  readonly tokens: number;
  readonly error: unknown;
}

/** A deferred settle that got through at last. */
export interface BudgetSettleRecovery {
  readonly tenantId: string;
  readonly tokens: number;
  readonly attempts: number;
}

/** A settle given up: its tokens are not in the ledger (its reservation expires anyway). */
export interface BudgetSettleLoss {
  readonly tenantId: string;
  readonly tokens: number;
  readonly attempts: number;
  readonly reason: 'retry_limit' | 'queue_full' | 'shutdown';
}

/** Why a run was refused before it started: the `reason` label of agent_runs_refused_total. */
export const RUN_REFUSAL_REASONS = ['tenant_concurrency'] as const;
export type RunRefusalReason = (typeof RUN_REFUSAL_REASONS)[number];

/** A run refused before it started, because its tenant already had `limit` runs in flight. */
export interface RunRefusal {
  readonly reason: RunRefusalReason;
  readonly tenantId: string;
  readonly limit: number;
  readonly inFlight: number;
}

/** One tenant's ledger in one period, as the budget gauges show it. */
export interface BudgetReading {
  readonly tenantId: string;
  readonly period: BudgetPeriod;
  readonly limit: number;
  readonly used: number;
  readonly remaining: number;
  /** Epoch seconds of the period's last refused call; 0 when none was. */
  readonly lastRefusedAt: number;
}

/** One real evaluation of a health component. */
export interface HealthCheckReport {
  readonly component: string;
  readonly up: boolean;
  readonly durationMs: number;
  /** Short and safe, when down. */
  readonly error?: string;
}
