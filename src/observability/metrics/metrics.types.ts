/** The arguments of the original's recording API (seed "Recording Custom Metrics"), camel-cased. */
export type RunStatus = 'success' | 'error' | 'max_steps' | 'budget_exceeded';
export type BudgetPeriod = 'daily' | 'monthly';

export interface AgentRunRecord {
  agentType: string;
  status: RunStatus;
  durationSeconds: number;
  steps: number;
}

export interface LlmRequestRecord {
  model: string;
  /** `success` or `error` */
  status: 'success' | 'error';
  durationSeconds: number;
  promptTokens: number;
  completionTokens: number;
}

export interface ToolCallRecord {
  toolName: string;
  success: boolean;
  durationSeconds: number;
}

export interface TokenBudgetRecord {
  tenantId: string;
  period: BudgetPeriod;
  remaining: number;
  used: number;
  limit?: number;
}
