import type { Agent } from './agent.entity';
import type { Run } from './run.entity';

/** The snake_case shapes of the API's agents and runs. */
export function agentView(agent: Agent) {
  return {
    id: agent.id,
    name: agent.name,
    type: agent.type,
    model: agent.model,
    instructions: agent.instructions,
    tools: agent.tools,
    max_steps: agent.maxSteps,
    max_output_tokens: agent.maxOutputTokens,
    created_at: agent.createdAt.toISOString(),
  };
}

export function runView(run: Run) {
  return {
    id: run.id,
    agent_id: run.agentId,
    status: run.status,
    output: run.output,
    steps: run.steps,
    usage: {
      prompt_tokens: run.promptTokens,
      completion_tokens: run.completionTokens,
      total_tokens: run.totalTokens,
      estimated: run.usageEstimated,
    },
    duration_ms: run.durationMs,
    trace_id: run.traceId,
    error: run.error,
    error_type: run.errorType,
    created_at: run.createdAt.toISOString(),
  };
}

export type RunView = ReturnType<typeof runView>;
