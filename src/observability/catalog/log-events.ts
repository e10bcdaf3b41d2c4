/**
 * The `event` of every log line the application writes. Log queries, alerts
 * and runbooks filter on them, so they change only with the docs; a lint rule
 * keeps `event: '...'` literals out of every other file.
 */
export const LOG_EVENTS = {
  // HTTP
  httpRequestCompleted: 'http.request.completed',
  httpRequestFailed: 'http.request.failed',
  httpRequestRejected: 'http.request.rejected',
  databaseUnavailable: 'database.unavailable',
  // Agent runs, model calls, tools, budgets
  agentExecuteStarted: 'agent.execute.started',
  agentExecuteCompleted: 'agent.execute.completed',
  agentExecuteFailed: 'agent.execute.failed',
  llmRequestCompleted: 'llm.request.completed',
  llmRequestFailed: 'llm.request.failed',
  llmRequestCancelled: 'llm.request.cancelled',
  llmModelUnpriced: 'llm.model.unpriced',
  toolExecuteCompleted: 'tool.execute.completed',
  toolExecuteFailed: 'tool.execute.failed',
  toolExecuteCrashed: 'tool.execute.crashed',
  toolExecuteRefused: 'tool.execute.refused',
  budgetExceeded: 'budget.exceeded',
  budgetOverrun: 'budget.overrun',
  budgetSettleDeferred: 'budget.settle.deferred',
  budgetSettleRecovered: 'budget.settle.recovered',
  budgetSettleLost: 'budget.settle.lost',
  runRefused: 'run.refused',
  runSlotReleaseFailed: 'run.slot.release_failed',
  runInterrupted: 'run.interrupted',
  runCancelRequested: 'run.cancel.requested',
  runFinishFailed: 'run.finish.failed',
  runSweepFailed: 'run.sweep.failed',
  // Tenants and their keys
  apiKeyRevoked: 'api_key.revoked',
  // Dependencies and health
  redisError: 'redis.error',
  healthComponentDown: 'health.component.down',
  healthComponentRecovered: 'health.component.recovered',
  managementStarted: 'management.started',
  // Observability's own
  telemetryInitialized: 'telemetry.initialized',
  telemetryLateStart: 'telemetry.late_start',
  telemetryExportFailed: 'telemetry.export.failed',
  metricsBudgetSnapshotFailed: 'metrics.budget_snapshot.failed',
  metricsRecordFailed: 'metrics.record.failed',
  // Process life cycle
  appStarted: 'app.started',
  appStartFailed: 'app.start_failed',
  appShutdown: 'app.shutdown',
} as const;

export type LogEvent = (typeof LOG_EVENTS)[keyof typeof LOG_EVENTS];

/** What a line without an explicit `event` is filed under (framework messages, plain strings). */
export const DEFAULT_LOG_EVENT = 'log';
