export { DEFAULT_LOG_EVENT, LOG_EVENTS } from './log-events';
export type { LogEvent } from './log-events';
export { GEN_AI_OPERATION, SPAN_NAME } from './span-names';
export { isProbePath, UNMATCHED_ROUTE } from './routes';
export { BUDGET_PERIODS, isSuccessfulRunStatus, RUN_STATUSES } from './outcomes';
export type {
  AgentRunReport,
  AgentRunSubject,
  BudgetPeriod,
  BudgetReading,
  BudgetRefusal,
  FailureReport,
  HealthCheckReport,
  InterruptedRunsReport,
  LlmCallFailureReport,
  LlmCallReport,
  LlmCallSubject,
  RunStatus,
  TokenUsage,
  ToolCallRejection,
  ToolCallSubject,
} from './outcomes';
