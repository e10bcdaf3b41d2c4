import { Injectable } from '@nestjs/common';
import type {
  AgentRunRecord,
  BudgetPeriod,
  LlmRequestRecord,
  TokenBudgetRecord,
  ToolCallRecord,
} from './metrics.types';

/**
 * The one API through which domain code records metrics (the original's
 * record_agent_run, record_llm_request, record_tool_call, update_token_budget).
 * Recording never throws into the caller.
 *
 * SKELETON: the metrics issue implements the bodies on prom-client.
 */
@Injectable()
export class MetricsService {
  recordAgentRun(_record: AgentRunRecord): void {}

  recordLlmRequest(_record: LlmRequestRecord): void {}

  recordToolCall(_record: ToolCallRecord): void {}

  updateTokenBudget(_record: TokenBudgetRecord): void {}

  recordBudgetExceeded(_period: BudgetPeriod): void {}

  /** Increments active_agent_runs; the returned function decrements it (call exactly once). */
  startAgentRun(): () => void {
    return () => undefined;
  }

  recordHealthCheck(_component: string, _up: boolean, _durationSeconds: number): void {}
}
