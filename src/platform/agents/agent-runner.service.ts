import { Injectable, Logger } from '@nestjs/common';
import { bindAgentContext } from '../../observability/context';
import { MetricsService } from '../../observability/metrics';
import type { RunStatus } from '../../observability/metrics';
import { TraceAgent } from '../../observability/telemetry';
import { BudgetExceededError, BudgetUnavailableError, TokenBudgetService } from '../budgets';
import type { Reservation, TenantLimits } from '../budgets';
import { LlmClient } from '../llm/llm-client.service';
import type { ChatMessage, ChatResponse, ToolSchema } from '../llm/llm.types';
import { LlmNotConfiguredError, LlmRequestError } from '../llm/llm.types';
import { estimateTokens } from '../llm/token-estimate';
import { ToolRegistry } from '../tools/tool-registry.service';

/** What the runner needs to know about an agent. */
export interface AgentSpec {
  id: string;
  name: string;
  type: string;
  model: string;
  instructions: string;
  tools: string[];
  maxSteps: number;
}

export interface RunCaller {
  tenantId: string;
  userId: string;
  limits: TenantLimits;
}

export interface RunUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  estimated: boolean;
}

export interface RunOutcome {
  status: RunStatus;
  output: string | null;
  steps: number;
  usage: RunUsage;
  durationMs: number;
  /** Short, safe text for the run record; never a stack. */
  error: string | null;
  /** Why the run stopped early, for the HTTP answer (429, 502, 503). */
  failure?:
    BudgetExceededError | BudgetUnavailableError | LlmRequestError | LlmNotConfiguredError | Error;
}

/** Headroom reserved for the model's answer on top of the prompt estimate. */
const COMPLETION_RESERVE_TOKENS = 256;

/**
 * The agent loop (SPEC section 4): call the model with the conversation and
 * the agent's tools, run the tools it asks for, feed the results back, until
 * it answers without tools, max_steps is reached, the budget refuses, or an
 * error occurs. Expected failures end the run with a status; they are not
 * thrown, so the caller always has an outcome to store.
 */
@Injectable()
export class AgentRunner {
  private readonly logger = new Logger(AgentRunner.name);

  constructor(
    private readonly llm: LlmClient,
    private readonly tools: ToolRegistry,
    private readonly budgets: TokenBudgetService,
    private readonly metrics: MetricsService,
  ) {}

  @TraceAgent()
  async execute(agent: AgentSpec, input: string, caller: RunCaller): Promise<RunOutcome> {
    const started = performance.now();
    bindAgentContext(agent.id, agent.type);
    const finishActive = this.metrics.startAgentRun();
    this.logger.log(
      {
        event: 'agent.execute.started',
        agent_type: agent.type,
        model: agent.model,
        max_steps: agent.maxSteps,
      },
      'Starting agent execution',
    );
    const usage: RunUsage = {
      promptTokens: 0,
      completionTokens: 0,
      totalTokens: 0,
      estimated: false,
    };
    let steps = 0;
    let outcome: Omit<RunOutcome, 'steps' | 'usage' | 'durationMs'>;
    try {
      outcome = await this.loop(agent, input, caller, usage, (step) => (steps = step));
    } catch (error) {
      outcome = failed(error);
    } finally {
      finishActive();
    }
    const durationMs = Math.round(performance.now() - started);
    const result: RunOutcome = { ...outcome, steps, usage, durationMs };
    this.metrics.recordAgentRun({
      agentType: agent.type,
      status: result.status,
      durationSeconds: durationMs / 1000,
      steps,
    });
    this.logOutcome(result);
    return result;
  }

  private async loop(
    agent: AgentSpec,
    input: string,
    caller: RunCaller,
    usage: RunUsage,
    onStep: (step: number) => void,
  ): Promise<Omit<RunOutcome, 'steps' | 'usage' | 'durationMs'>> {
    const messages: ChatMessage[] = [];
    if (agent.instructions) messages.push({ role: 'system', content: agent.instructions });
    messages.push({ role: 'user', content: input });
    const toolSchemas = this.tools.schemasFor(agent.tools);
    let lastText: string | null = null;

    for (let step = 1; step <= agent.maxSteps; step++) {
      const reservation = await this.budgets.reserve(
        caller.tenantId,
        caller.limits,
        reserveEstimate(messages, toolSchemas),
      );
      const response = await this.callModel(agent, messages, toolSchemas, reservation);
      onStep(step);
      addUsage(usage, response);
      messages.push(response.message);
      lastText = response.message.content;

      const calls = response.message.tool_calls ?? [];
      if (calls.length === 0) return { status: 'success', output: lastText, error: null };
      for (const call of calls) {
        const { result } = await this.tools.execute(call.function.name, call.function.arguments, {
          tenantId: caller.tenantId,
          callId: call.id,
        });
        messages.push({ role: 'tool', tool_call_id: call.id, content: result });
      }
    }
    return {
      status: 'max_steps',
      output: lastText,
      error: `Stopped after max_steps=${agent.maxSteps}`,
    };
  }

  /** Settles the reservation to the real usage, or releases it when the call failed. */
  private async callModel(
    agent: AgentSpec,
    messages: ChatMessage[],
    tools: ToolSchema[],
    reservation: Reservation,
  ): Promise<ChatResponse> {
    let response: ChatResponse;
    try {
      response = await this.llm.chat({
        model: agent.model,
        messages,
        tools: tools.length > 0 ? tools : undefined,
      });
    } catch (error) {
      await this.budgets.settle(reservation, 0).catch(() => undefined);
      throw error;
    }
    await this.budgets.settle(reservation, response.usage.totalTokens);
    return response;
  }

  private logOutcome(result: RunOutcome): void {
    const fields = {
      status: result.status,
      steps: result.steps,
      duration_ms: result.durationMs,
      total_tokens: result.usage.totalTokens,
    };
    if (result.status === 'success' || result.status === 'max_steps') {
      this.logger.log({ event: 'agent.execute.completed', ...fields }, 'Agent execution completed');
    } else if (result.failure && !isExpectedFailure(result.failure)) {
      // Unexpected: logged once, here, with the stack.
      this.logger.error(
        { event: 'agent.execute.failed', ...fields, err: result.failure },
        'Agent execution failed',
      );
    } else {
      this.logger.warn(
        {
          event: 'agent.execute.failed',
          ...fields,
          error_type: result.failure?.name,
          error: result.error,
        },
        'Agent execution stopped',
      );
    }
  }
}

function reserveEstimate(messages: ChatMessage[], tools: ToolSchema[]): number {
  return (
    estimateTokens(JSON.stringify(messages)) +
    estimateTokens(JSON.stringify(tools)) +
    COMPLETION_RESERVE_TOKENS
  );
}

function addUsage(usage: RunUsage, response: ChatResponse): void {
  usage.promptTokens += response.usage.promptTokens;
  usage.completionTokens += response.usage.completionTokens;
  usage.totalTokens += response.usage.totalTokens;
  usage.estimated ||= response.usage.estimated;
}

function isExpectedFailure(error: Error): boolean {
  return (
    error instanceof BudgetExceededError ||
    error instanceof BudgetUnavailableError ||
    error instanceof LlmRequestError ||
    error instanceof LlmNotConfiguredError
  );
}

function failed(error: unknown): Omit<RunOutcome, 'steps' | 'usage' | 'durationMs'> {
  const failure = error instanceof Error ? error : new Error(String(error));
  if (failure instanceof BudgetExceededError) {
    return { status: 'budget_exceeded', output: null, error: failure.message, failure };
  }
  const message = isExpectedFailure(failure)
    ? failure.message
    : 'Internal error while running the agent';
  return { status: 'error', output: null, error: message, failure };
}
