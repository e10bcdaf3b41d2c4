import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../../config';
import type { AppConfig } from '../../config';
import { ClassifiedError } from '../../common';
import type { RunStatus } from '../../observability/catalog';
import { failureReport, TraceAgent } from '../../observability/observers';
import type { AgentRunDescriptor } from '../../observability/observers';
import { BudgetExceededError, TokenBudgetService } from '../budgets';
import type { Reservation, TenantLimits } from '../budgets';
import { estimateTokens, LLM_CANCELLED, LlmClient, LlmRequestError } from '../llm';
import type { ChatMessage, ChatResponse, ToolSchema } from '../llm';
import { ToolRegistry } from '../tools';
import { RunCancelledByRequestError, runErrorType, RunTimeoutError } from './run-errors';
import type { RunEventSink } from './run-events';

/** What the runner needs to know about an agent. */
export interface AgentSpec {
  id: string;
  name: string;
  type: string;
  model: string;
  instructions: string;
  tools: string[];
  maxSteps: number;
  maxOutputTokens: number;
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
  /** The record's error_type: null when the run ended well (see RUN_ERROR_TYPES). */
  errorType: string | null;
  /** Why the run stopped early, for the HTTP answer (429, 502, 503). */
  failure?: Error;
}

/** How a run reads as the observer's records: a rename on either side is a compile error. */
const AGENT_RUN: AgentRunDescriptor<
  [AgentSpec, string, RunCaller, AbortSignal?, RunEventSink?],
  RunOutcome
> = {
  subject: (agent, input) => ({
    agentId: agent.id,
    agentName: agent.name,
    agentType: agent.type,
    model: agent.model,
    maxSteps: agent.maxSteps,
    input,
  }),
  report: (outcome) => ({
    status: outcome.status,
    steps: outcome.steps,
    usage: outcome.usage,
    durationMs: outcome.durationMs,
    output: outcome.output,
    error: outcome.error,
    errorType: outcome.errorType ?? undefined,
    failure: outcome.failure && failureReport(outcome.failure, outcome.failure.name),
  }),
};

/** A run stopped at once because its client went away: stored as `cancelled`. */
export class RunCancelledError extends ClassifiedError {
  readonly errorType = 'cancelled';

  constructor(cause: unknown) {
    super('The client closed the connection before the run ended', { cause });
    this.name = 'RunCancelledError';
  }
}

/**
 * Failures after which the proxy may have charged the call: the answer was
 * cut (our timeout, our cancellation, a dropped connection) or unreadable. The
 * call then costs its whole reservation unless usage was reported, so a client
 * that leaves just before each answer gets no free tokens; a proxy that
 * answered an error status charged nothing.
 */
const MAYBE_CHARGED = new Set(['timeout', LLM_CANCELLED, 'network', 'invalid_response']);

/**
 * How long a reservation outlives its call's worst case: room for the settle
 * to reach the ledger after the answer, and for clocks that differ a little
 * between replicas.
 */
const RESERVATION_MARGIN_MS = 30_000;

/**
 * The agent loop: call the model with the conversation and
 * the agent's tools, run the tools it asks for, feed the results back, until
 * it answers without tools, max_steps is reached, the budget refuses, or an
 * error occurs. Expected failures end the run with a status; they are not
 * thrown, so the caller always has an outcome to store. `signal` stops the run
 * at once: the model call in flight is aborted and no further step or tool
 * call starts. Its reason tells how the run ends: a RunTimeoutError (the
 * run's deadline) is `error` / `run_timeout`, a RunCancelledByRequestError
 * `cancelled` / `cancelled_by_request`, anything else (the client left)
 * `cancelled` / `client_closed`. With `events` the run is watched: the model's
 * answers are streamed from the proxy and each step's progress is told as it
 * happens; without, nothing differs from a run nobody watches.
 */
@Injectable()
export class AgentRunner {
  constructor(
    private readonly llm: LlmClient,
    private readonly tools: ToolRegistry,
    private readonly budgets: TokenBudgetService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @TraceAgent(AGENT_RUN)
  async execute(
    agent: AgentSpec,
    input: string,
    caller: RunCaller,
    signal?: AbortSignal,
    events?: RunEventSink,
  ): Promise<RunOutcome> {
    const started = performance.now();
    const usage: RunUsage = {
      promptTokens: 0,
      completionTokens: 0,
      totalTokens: 0,
      estimated: false,
    };
    let steps = 0;
    let outcome: Omit<RunOutcome, 'steps' | 'usage' | 'durationMs' | 'errorType'>;
    try {
      outcome = await this.loop(agent, input, caller, usage, signal, events, (step) => {
        steps = step;
      });
    } catch (error) {
      outcome = signal?.aborted ? stopped(signal) : failed(error);
    }
    return {
      ...outcome,
      errorType: runErrorType(outcome.status, outcome.failure),
      steps,
      usage,
      durationMs: Math.round(performance.now() - started),
    };
  }

  private async loop(
    agent: AgentSpec,
    input: string,
    caller: RunCaller,
    usage: RunUsage,
    signal: AbortSignal | undefined,
    events: RunEventSink | undefined,
    onStep: (step: number) => void,
  ): Promise<Omit<RunOutcome, 'steps' | 'usage' | 'durationMs' | 'errorType'>> {
    const messages: ChatMessage[] = [];
    if (agent.instructions) messages.push({ role: 'system', content: agent.instructions });
    messages.push({ role: 'user', content: input });
    const toolSchemas = this.tools.schemasFor(agent.tools);
    let lastText: string | null = null;

    for (let step = 1; step <= agent.maxSteps; step++) {
      signal?.throwIfAborted();
      const reservation = await this.budgets.reserve(caller.tenantId, caller.limits, {
        promptTokens: promptEstimate(messages, toolSchemas),
        maxOutputTokens: agent.maxOutputTokens,
        ttlMs: this.reservationTtlMs(events !== undefined),
      });
      events?.stepStarted(step);
      const onText = events && ((text: string) => events.messageDelta(step, text));
      const response = await this.callModel(
        agent,
        messages,
        toolSchemas,
        reservation,
        signal,
        onText,
      );
      onStep(step);
      addUsage(usage, response);
      messages.push(response.message);
      lastText = response.message.content;

      const calls = response.message.tool_calls ?? [];
      for (const call of calls) {
        signal?.throwIfAborted();
        events?.toolStarted(step, call);
        const outcome = await this.tools.execute(
          call.function.name,
          call.function.arguments,
          { tenantId: caller.tenantId, callId: call.id },
          agent.tools,
        );
        events?.toolCompleted(step, call, outcome);
        messages.push({ role: 'tool', tool_call_id: call.id, content: outcome.result });
      }
      events?.stepCompleted(step, response.usage, response.finishReason);
      if (calls.length === 0) return { status: 'success', output: lastText, error: null };
    }
    return {
      status: 'max_steps',
      output: lastText,
      error: `Stopped after max_steps=${agent.maxSteps}`,
    };
  }

  /**
   * How long a call's reservation may hold budget. A call cannot outlive its
   * run (the run's deadline aborts it), nor a plain call its attempts; a
   * streamed call has no bound of its own (LLM_TIMEOUT_MS bounds each
   * silence, not the whole answer), so only the run's deadline bounds it: a
   * reservation that expired while its answer still streamed would let
   * other calls spend the same budget.
   */
  private reservationTtlMs(streamed: boolean): number {
    const runMs = this.config.runs.timeoutMs;
    return (streamed ? runMs : Math.min(this.llm.worstCaseCallMs, runMs)) + RESERVATION_MARGIN_MS;
  }

  /**
   * Calls the model with the reservation's bound as max_tokens (streamed
   * when someone watches the text), then settles the reservation to the real
   * usage, or a failed call to what the proxy may have charged.
   */
  private async callModel(
    agent: AgentSpec,
    messages: ChatMessage[],
    tools: ToolSchema[],
    reservation: Reservation,
    signal: AbortSignal | undefined,
    onText: ((text: string) => void) | undefined,
  ): Promise<ChatResponse> {
    let response: ChatResponse;
    try {
      response = await this.llm.chat(
        {
          model: agent.model,
          messages,
          tools: tools.length > 0 ? tools : undefined,
          maxTokens: reservation.outputBound,
        },
        onText ? { signal, stream: true, onTextDelta: onText } : { signal },
      );
    } catch (error) {
      const charged =
        error instanceof LlmRequestError && MAYBE_CHARGED.has(error.errorType)
          ? reservation.amount
          : 0;
      await this.budgets.settle(reservation, {
        totalTokens: charged,
        completionTokens: 0,
        model: agent.model,
      });
      throw error;
    }
    await this.budgets.settle(reservation, {
      totalTokens: response.usage.totalTokens,
      completionTokens: response.usage.completionTokens,
      model: agent.model,
    });
    return response;
  }
}

function promptEstimate(messages: ChatMessage[], tools: ToolSchema[]): number {
  return estimateTokens(JSON.stringify(messages)) + estimateTokens(JSON.stringify(tools));
}

function addUsage(usage: RunUsage, response: ChatResponse): void {
  usage.promptTokens += response.usage.promptTokens;
  usage.completionTokens += response.usage.completionTokens;
  usage.totalTokens += response.usage.totalTokens;
  usage.estimated ||= response.usage.estimated;
}

/** The outcome of a run its signal stopped: its time was up, it was cancelled, or its client left. */
function stopped(
  signal: AbortSignal,
): Omit<RunOutcome, 'steps' | 'usage' | 'durationMs' | 'errorType'> {
  // A run out of time failed; one cancelled or whose client left was cancelled.
  if (signal.reason instanceof RunTimeoutError) {
    return { status: 'error', output: null, error: signal.reason.message, failure: signal.reason };
  }
  if (signal.reason instanceof RunCancelledByRequestError) {
    return {
      status: 'cancelled',
      output: null,
      error: signal.reason.message,
      failure: signal.reason,
    };
  }
  const failure = new RunCancelledError(signal.reason);
  return { status: 'cancelled', output: null, error: failure.message, failure };
}

function failed(error: unknown): Omit<RunOutcome, 'steps' | 'usage' | 'durationMs' | 'errorType'> {
  const failure = error instanceof Error ? error : new Error(String(error));
  if (failure instanceof BudgetExceededError) {
    return { status: 'budget_exceeded', output: null, error: failure.message, failure };
  }
  // A classified failure (an outage, a proxy error) has a message fit for the record; a bug does not.
  const message =
    failure instanceof ClassifiedError ? failure.message : 'Internal error while running the agent';
  return { status: 'error', output: null, error: message, failure };
}
