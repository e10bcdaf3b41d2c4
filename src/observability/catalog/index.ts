export { DEFAULT_LOG_EVENT, LOG_EVENTS } from './log-events';
export type { LogEvent } from './log-events';
export { GEN_AI_OPERATION, SPAN_NAME } from './span-names';
export { isProbePath, UNMATCHED_ROUTE } from './routes';
export {
  BUDGET_PERIODS,
  isSuccessfulRunStatus,
  RUN_REFUSAL_REASONS,
  RUN_STATUSES,
} from './outcomes';
export type {
  AgentRunReport,
  AgentRunSubject,
  BudgetPeriod,
  BudgetOverrun,
  BudgetReading,
  BudgetRefusal,
  BudgetSettleDeferral,
  BudgetSettleLoss,
  BudgetSettleRecovery,
  FailureReport,
  HealthCheckReport,
  InterruptedRunsReport,
  LlmCallFailureReport,
  LlmCallReport,
  LlmCallSubject,
  RunRefusal,
  RunRefusalReason,
  RunStatus,
  TokenUsage,
  ToolCallRefusal,
  ToolCallRejection,
  ToolCallSubject,
} from './outcomes';
