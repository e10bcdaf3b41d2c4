import type { BudgetPeriod, RunStatus } from '../catalog';

/** The arguments of the original's recording API (record_agent_run, record_llm_request, ...), camel-cased. */
export interface AgentRunRecord {
  agentType: string;
  /** Who ran it: a new agent_type counts against that tenant's allowance of label values. */
  tenantId?: string;
  status: RunStatus;
  durationSeconds: number;
  steps: number;
}

export interface LlmRequestRecord {
  model: string;
  /** Who called it: a new model counts against that tenant's allowance of label values. */
  tenantId?: string;
  /** `success`, `error`, or `cancelled` (stopped by the platform: the client left, the run's deadline) */
  status: 'success' | 'error' | 'cancelled';
  durationSeconds: number;
  promptTokens: number;
  completionTokens: number;
  /** A streamed call that got its first chunk: seconds from its start to that chunk. */
  timeToFirstTokenSeconds?: number;
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
  /** Epoch seconds of the period's last refused call; 0 (or absent) when none was. */
  lastRefusedAt?: number;
}

/** Reads the shared ledger for the budget gauges; see MetricsService.setBudgetSnapshotProvider. */
export type BudgetSnapshotProvider = () => Promise<readonly TokenBudgetRecord[]>;
