/**
 * The stable `event` names of the log lines (SPEC section 7). Loki queries,
 * alerts and runbooks filter on them, so they change only with the docs.
 */
export const LOG_EVENTS = {
  httpRequestCompleted: 'http.request.completed',
  httpRequestFailed: 'http.request.failed',
  agentExecuteStarted: 'agent.execute.started',
  agentExecuteCompleted: 'agent.execute.completed',
  agentExecuteFailed: 'agent.execute.failed',
  llmRequestCompleted: 'llm.request.completed',
  llmRequestFailed: 'llm.request.failed',
  toolExecuteCompleted: 'tool.execute.completed',
  toolExecuteFailed: 'tool.execute.failed',
  budgetExceeded: 'budget.exceeded',
  telemetryInitialized: 'telemetry.initialized',
  appStarted: 'app.started',
  appStartFailed: 'app.start_failed',
  appShutdown: 'app.shutdown',
} as const;

export type LogEvent = (typeof LOG_EVENTS)[keyof typeof LOG_EVENTS];

/** What a line without an explicit `event` is filed under (framework messages, plain strings). */
export const DEFAULT_LOG_EVENT = 'log';
