import { Injectable, SetMetadata } from '@nestjs/common';
import { context, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { ClassifiedError } from '../../common';
import {
  spanNamed,
  startInMemoryTracing,
  type InMemoryTracing,
} from '../../../test/helpers/in-memory-tracing';
import { sampleValue, samplesOf } from '../../../test/helpers/metrics';
import { startObservedModule } from '../../../test/helpers/observability';
import type { ObservedModule } from '../../../test/helpers/observability';
import type { AgentRunReport, RunStatus } from '../catalog';
import { newRequestContext, runWithRequestContext } from '../context';
import type { RequestContext } from '../context';
import { failureReport } from './failure-report';
import { BudgetObserver } from './budget.observer';
import { HealthCheckObserver } from './health-check.observer';
import { RunSweepObserver } from './run-sweep.observer';
import { TraceAgent, TraceLlmCall, TraceTool } from './observe.decorators';
import type {
  AgentRunDescriptor,
  LlmCallDescriptor,
  ToolCallDescriptor,
} from './observe.decorators';
import { ToolCallObserver } from './tool-call.observer';

class UpstreamError extends ClassifiedError {
  constructor(
    readonly errorType: string,
    readonly status: number,
    readonly timeToFirstChunkMs?: number,
  ) {
    super('upstream answered 503');
    this.name = 'UpstreamError';
  }
}

interface FakeRequest {
  model: string;
  messages: { role: string; content: string }[];
  stream?: boolean;
}
interface FakeResponse {
  id: string;
  model: string;
  content: string;
  promptTokens: number;
  completionTokens: number;
  timeToFirstChunkMs?: number;
}

const CHAT: LlmCallDescriptor<[FakeRequest], FakeResponse> = {
  subject: (request) => ({
    model: request.model,
    messages: request.messages,
    stream: request.stream === true,
  }),
  report: (response) => ({
    responseId: response.id,
    responseModel: response.model,
    finishReason: 'stop',
    usage: {
      promptTokens: response.promptTokens,
      completionTokens: response.completionTokens,
      estimated: false,
    },
    attempts: 2,
    message: { role: 'assistant', content: response.content },
    timeToFirstChunkMs: response.timeToFirstChunkMs,
  }),
  failure: (error) => ({
    ...failureReport(error),
    cancelled: false,
    attempts: 3,
    httpStatus: error instanceof UpstreamError ? error.status : undefined,
    timeToFirstChunkMs: error instanceof UpstreamError ? error.timeToFirstChunkMs : undefined,
  }),
};

@Injectable()
class FakeLlmClient {
  failWith: Error | undefined;

  @TraceLlmCall(CHAT)
  async chat(request: FakeRequest): Promise<FakeResponse> {
    await Promise.resolve();
    if (this.failWith) throw this.failWith;
    return {
      id: 'chatcmpl-1',
      model: `${request.model}-2026`,
      content: 'The answer is 4',
      promptTokens: 31,
      completionTokens: 7,
      timeToFirstChunkMs: request.stream ? 250 : undefined,
    };
  }
}

class ToolFailure extends ClassifiedError {
  readonly errorType = 'tool_error';
}

const TOOL: ToolCallDescriptor<FakeCalculator, [Record<string, unknown>, { callId: string }]> = {
  subject: (tool, args, call) => ({ toolName: tool.name, callId: call.callId, arguments: args }),
};

@Injectable()
class FakeCalculator {
  readonly name = 'calculator';

  @TraceTool(TOOL)
  @SetMetadata('tool:kind', 'arithmetic')
  async execute(args: Record<string, unknown>, _call: { callId: string }): Promise<string> {
    await Promise.resolve();
    if (args.expression === 'boom') throw new TypeError('unparseable expression');
    if (args.expression === '1/0') throw new ToolFailure('Division by zero');
    return '4';
  }
}

interface FakeAgent {
  id: string;
  name: string;
  type: string;
}
interface FakeOutcome {
  status: RunStatus;
  output: string;
  failure?: Error;
  errorType?: string;
}

const RUN: AgentRunDescriptor<[FakeAgent, string], FakeOutcome> = {
  subject: (agent, input) => ({
    agentId: agent.id,
    agentName: agent.name,
    agentType: agent.type,
    model: 'gpt-4o-mini',
    maxSteps: 5,
    input,
  }),
  report: (outcome): AgentRunReport => ({
    status: outcome.status,
    steps: 1,
    usage: { promptTokens: 31, completionTokens: 7, totalTokens: 38, estimated: false },
    durationMs: 120,
    output: outcome.output,
    error: outcome.status === 'success' ? null : 'it went wrong',
    errorType: outcome.errorType,
    failure: outcome.failure && failureReport(outcome.failure, outcome.failure.name),
  }),
};

@Injectable()
class FakeRunner {
  status: RunStatus = 'success';
  failure: Error | undefined;
  errorType: string | undefined;

  constructor(
    private readonly llm: FakeLlmClient,
    private readonly tool: FakeCalculator,
  ) {}

  @TraceAgent(RUN)
  async execute(_agent: FakeAgent, input: string): Promise<FakeOutcome> {
    await this.tool.execute({ expression: '2+2' }, { callId: 'call_1' });
    const response = await this.llm.chat({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: input }],
    });
    return {
      status: this.status,
      output: response.content,
      failure: this.failure,
      errorType: this.errorType,
    };
  }
}

const AGENT: FakeAgent = { id: 'agent-1', name: 'helper', type: 'assistant' };
const SECRET_PROMPT = 'what is 2+2 for my secret project zebra';

/** Runs fn in a request whose server span is sampled, as the tracing hooks leave it. */
function inTracedRequest<T>(ctx: RequestContext, fn: () => Promise<T>): Promise<T> {
  const span = trace.getTracer('test').startSpan('POST /v1/agents/:id/runs');
  const spanContext = trace.setSpan(context.active(), span);
  ctx.serverSpan = { span, context: spanContext };
  return runWithRequestContext(ctx, () =>
    context.with(spanContext, () => fn().finally(() => span.end())),
  );
}

async function observedModule(env: Record<string, string> = {}): Promise<ObservedModule> {
  return startObservedModule({ env, providers: [FakeLlmClient, FakeCalculator, FakeRunner] });
}

describe('observers (telemetry on)', () => {
  let tracing: InMemoryTracing;
  let observed: ObservedModule;

  beforeAll(async () => {
    tracing = startInMemoryTracing({ LOG_LEVEL: 'silent' });
    observed = await observedModule();
  });
  afterAll(async () => {
    await observed.close();
    await tracing.stop();
  });
  beforeEach(async () => {
    // Spans a previous test left in the batch processor's queue are flushed away first.
    await tracing.collectSpans();
    tracing.reset();
    observed.logs.clear();
    observed.registry.resetMetrics();
    const runner = observed.get(FakeRunner);
    runner.status = 'success';
    runner.failure = undefined;
    runner.errorType = undefined;
    observed.get(FakeLlmClient).failWith = undefined;
  });

  it('reports an LLM call once: the chat span, the llm_* samples and one log line, exactly', async () => {
    await observed.get(FakeLlmClient).chat({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: SECRET_PROMPT }],
    });
    const chat = spanNamed(await tracing.collectSpans(), 'chat gpt-4o-mini');
    expect(chat.kind).toBe(SpanKind.CLIENT);
    expect(chat.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.request.stream': false,
      'gen_ai.response.model': 'gpt-4o-mini-2026',
      'gen_ai.response.id': 'chatcmpl-1',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 31,
      'gen_ai.usage.output_tokens': 7,
    });
    expect(chat.status.code).toBe(SpanStatusCode.UNSET);

    const samples = await observed.samples();
    const model = { model: 'gpt-4o-mini' };
    expect(sampleValue(samples, 'llm_requests_total', { ...model, status: 'success' })).toBe(1);
    expect(samplesOf(samples, 'llm_requests_total')).toHaveLength(1);
    expect(sampleValue(samples, 'llm_tokens_total', { ...model, token_type: 'prompt' })).toBe(31);
    expect(sampleValue(samples, 'llm_tokens_total', { ...model, token_type: 'completion' })).toBe(
      7,
    );
    expect(sampleValue(samples, 'llm_request_duration_seconds_count', model)).toBe(1);
    // Only a streamed call has a first chunk to time.
    expect(samplesOf(samples, 'llm_time_to_first_token_seconds_count')).toEqual([]);

    expect(observed.logs.lines()).toEqual([
      {
        timestamp: expect.any(String),
        level: 'info',
        event: 'llm.request.completed',
        context: 'LlmClient',
        trace_id: chat.spanContext().traceId,
        span_id: chat.spanContext().spanId,
        model: 'gpt-4o-mini',
        response_model: 'gpt-4o-mini-2026',
        status: 'success',
        duration_ms: expect.any(Number),
        prompt_tokens: 31,
        completion_tokens: 7,
        usage_estimated: false,
        finish_reason: 'stop',
        attempts: 2,
        message: 'LLM request completed',
      },
    ]);
  });

  it('reports a streamed LLM call: the stream flag and time to first chunk on the span, the histogram, the line', async () => {
    await observed.get(FakeLlmClient).chat({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: SECRET_PROMPT }],
      stream: true,
    });
    const chat = spanNamed(await tracing.collectSpans(), 'chat gpt-4o-mini');
    expect(chat.attributes).toMatchObject({
      'gen_ai.request.stream': true,
      'gen_ai.response.time_to_first_chunk': 0.25,
    });
    const samples = await observed.samples();
    const model = { model: 'gpt-4o-mini' };
    expect(sampleValue(samples, 'llm_time_to_first_token_seconds_count', model)).toBe(1);
    expect(sampleValue(samples, 'llm_time_to_first_token_seconds_sum', model)).toBe(0.25);
    expect(
      sampleValue(samples, 'llm_time_to_first_token_seconds_bucket', { ...model, le: '0.32' }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'llm_time_to_first_token_seconds_bucket', { ...model, le: '0.16' }),
    ).toBe(0);
    expect(observed.logs.events('llm.request.completed')).toEqual([
      expect.objectContaining({ stream: true, time_to_first_chunk_ms: 250 }),
    ]);
  });

  it('times the first chunk of a streamed call that failed after it', async () => {
    observed.get(FakeLlmClient).failWith = new UpstreamError('network', 502, 400);
    await expect(
      observed.get(FakeLlmClient).chat({ model: 'gpt-4o-mini', messages: [], stream: true }),
    ).rejects.toThrow();
    const chat = spanNamed(await tracing.collectSpans(), 'chat gpt-4o-mini');
    expect(chat.attributes['gen_ai.response.time_to_first_chunk']).toBe(0.4);
    const samples = await observed.samples();
    expect(
      sampleValue(samples, 'llm_time_to_first_token_seconds_count', { model: 'gpt-4o-mini' }),
    ).toBe(1);
    expect(observed.logs.events('llm.request.failed')).toEqual([
      expect.objectContaining({ stream: true, time_to_first_chunk_ms: 400 }),
    ]);
  });

  it('reports a failed LLM call: ERROR span with error.type, an error sample with no tokens, a warning', async () => {
    const failure = new UpstreamError('http_503', 503);
    observed.get(FakeLlmClient).failWith = failure;
    await expect(
      observed.get(FakeLlmClient).chat({ model: 'gpt-4o-mini', messages: [] }),
    ).rejects.toBe(failure);
    const chat = spanNamed(await tracing.collectSpans(), 'chat gpt-4o-mini');
    expect(chat.status).toEqual({ code: SpanStatusCode.ERROR, message: 'upstream answered 503' });
    expect(chat.attributes['error.type']).toBe('http_503');
    expect(chat.events.map((event) => event.name)).toEqual(['exception']);
    const samples = await observed.samples();
    expect(
      sampleValue(samples, 'llm_requests_total', { model: 'gpt-4o-mini', status: 'error' }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'llm_tokens_total', { model: 'gpt-4o-mini', token_type: 'prompt' }),
    ).toBe(0);
    expect(observed.logs.lines()).toEqual([
      expect.objectContaining({
        level: 'warn',
        event: 'llm.request.failed',
        model: 'gpt-4o-mini',
        status: 'error',
        prompt_tokens: 0,
        completion_tokens: 0,
        attempts: 3,
        error_type: 'http_503',
        http_status: 503,
      }),
    ]);
  });

  it('reports a run, its tool call and its model call, nested, each with its samples and lines', async () => {
    const ctx = newRequestContext('req_1');
    ctx.tenantId = 'tenant-a';
    await inTracedRequest(ctx, () => observed.get(FakeRunner).execute(AGENT, SECRET_PROMPT));
    const spans = await tracing.collectSpans();
    const run = spanNamed(spans, 'invoke_agent helper');
    const server = spanNamed(spans, 'POST /v1/agents/:id/runs');
    expect(run.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    const chat = spanNamed(spans, 'chat gpt-4o-mini');
    const tool = spanNamed(spans, 'execute_tool calculator');
    expect(run.attributes).toEqual({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.provider.name': 'openai',
      'gen_ai.agent.id': 'agent-1',
      'gen_ai.agent.name': 'helper',
      agent_id: 'agent-1',
      tenant_id: 'tenant-a',
      'gen_ai.usage.input_tokens': 31,
      'gen_ai.usage.output_tokens': 7,
    });
    expect(tool.attributes).toEqual({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'calculator',
      'gen_ai.tool.type': 'function',
      'gen_ai.tool.call.id': 'call_1',
      agent_id: 'agent-1',
      tenant_id: 'tenant-a',
    });
    for (const child of [chat, tool]) {
      expect(child.parentSpanContext?.spanId).toBe(run.spanContext().spanId);
    }

    const samples = await observed.samples();
    expect(
      sampleValue(samples, 'agent_run_duration_seconds_count', {
        agent_type: 'assistant',
        status: 'success',
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'agent_run_duration_seconds_sum', {
        agent_type: 'assistant',
        status: 'success',
      }),
    ).toBe(0.12);
    expect(sampleValue(samples, 'agent_steps_total', { agent_type: 'assistant' })).toBe(1);
    expect(sampleValue(samples, 'active_agent_runs')).toBe(0);
    expect(
      sampleValue(samples, 'tool_calls_total', { tool_name: 'calculator', success: 'true' }),
    ).toBe(1);

    const lines = observed.logs.lines();
    expect(lines.map((line) => line.event)).toEqual([
      'agent.execute.started',
      'tool.execute.completed',
      'llm.request.completed',
      'agent.execute.completed',
    ]);
    expect(lines[0]).toEqual({
      timestamp: expect.any(String),
      level: 'info',
      event: 'agent.execute.started',
      context: 'AgentRunner',
      request_id: 'req_1',
      tenant_id: 'tenant-a',
      agent_id: 'agent-1',
      agent_type: 'assistant',
      trace_id: run.spanContext().traceId,
      span_id: run.spanContext().spanId,
      model: 'gpt-4o-mini',
      max_steps: 5,
      message: 'Starting agent execution',
    });
    expect(lines[1]).toEqual({
      timestamp: expect.any(String),
      level: 'info',
      event: 'tool.execute.completed',
      context: 'ToolRegistry',
      request_id: 'req_1',
      tenant_id: 'tenant-a',
      agent_id: 'agent-1',
      agent_type: 'assistant',
      trace_id: run.spanContext().traceId,
      span_id: tool.spanContext().spanId,
      tool_name: 'calculator',
      success: true,
      duration_ms: expect.any(Number),
      tool_call_id: 'call_1',
      message: 'Tool call completed',
    });
    expect(lines[3]).toMatchObject({
      level: 'info',
      span_id: run.spanContext().spanId,
      status: 'success',
      steps: 1,
      duration_ms: 120,
      total_tokens: 38,
      message: 'Agent execution completed',
    });
    const everything = JSON.stringify([spans.map((span) => span.attributes), lines]);
    expect(everything).not.toContain('zebra');
    expect(everything).not.toContain('The answer is 4');
    expect(everything).not.toContain('2+2');
  });

  it.each(['error', 'budget_exceeded'] as const)(
    'marks the run span ERROR when the run ends with %s, and logs it as stopped',
    async (status) => {
      const runner = observed.get(FakeRunner);
      runner.status = status;
      runner.failure = new UpstreamError('http_503', 503);
      await runner.execute(AGENT, 'hi');
      const run = spanNamed(await tracing.collectSpans(), 'invoke_agent helper');
      expect(run.status.code).toBe(SpanStatusCode.ERROR);
      expect(run.attributes['error.type']).toBe(status);
      expect(observed.logs.events('agent.execute.failed')).toEqual([
        expect.objectContaining({
          level: 'warn',
          status,
          error_type: 'UpstreamError',
          error: 'it went wrong',
        }),
      ]);
      const samples = await observed.samples();
      expect(
        sampleValue(samples, 'agent_run_duration_seconds_count', {
          agent_type: 'assistant',
          status,
        }),
      ).toBe(1);
    },
  );

  it.each([
    ['error', 'run_timeout', 'run_timeout'],
    ['cancelled', 'client_closed', 'cancelled'],
  ] as const)(
    'reports a run ended with %s and error_type %s: span error.type %s, the error_type on the line',
    async (status, errorType, spanErrorType) => {
      const runner = observed.get(FakeRunner);
      runner.status = status;
      runner.errorType = errorType;
      runner.failure = new UpstreamError(errorType, 504);
      await runner.execute(AGENT, 'hi');
      const run = spanNamed(await tracing.collectSpans(), 'invoke_agent helper');
      expect(run.status.code).toBe(SpanStatusCode.ERROR);
      expect(run.attributes['error.type']).toBe(spanErrorType);
      expect(observed.logs.events('agent.execute.failed')).toEqual([
        expect.objectContaining({ level: 'warn', status, error_type: errorType }),
      ]);
    },
  );

  it('logs an unexpected run failure at error, with its stack', async () => {
    const runner = observed.get(FakeRunner);
    runner.status = 'error';
    runner.failure = new TypeError('undefined is not a function');
    await runner.execute(AGENT, 'hi');
    const [line] = observed.logs.events('agent.execute.failed');
    expect(line).toMatchObject({
      level: 'error',
      err: { type: 'TypeError', message: 'undefined is not a function', stack: expect.any(String) },
    });
  });

  it('keeps a max_steps run OK: it is an answer, not a failure', async () => {
    const runner = observed.get(FakeRunner);
    runner.status = 'max_steps';
    await runner.execute(AGENT, 'hi');
    const run = spanNamed(await tracing.collectSpans(), 'invoke_agent helper');
    expect(run.status.code).toBe(SpanStatusCode.UNSET);
    expect(observed.logs.events('agent.execute.completed')).toHaveLength(1);
  });

  it('reports a tool crash as failed and crashed, a classified failure as failed only', async () => {
    const tool = observed.get(FakeCalculator);
    await expect(tool.execute({ expression: 'boom' }, { callId: 'c1' })).rejects.toThrow(TypeError);
    await expect(tool.execute({ expression: '1/0' }, { callId: 'c2' })).rejects.toThrow(
      'Division by zero',
    );
    const spans = (await tracing.collectSpans()).filter(
      (span) => span.name === 'execute_tool calculator',
    );
    expect(spans.map((span) => span.attributes['error.type'])).toEqual(['TypeError', 'tool_error']);
    expect(spans.every((span) => span.status.code === SpanStatusCode.ERROR)).toBe(true);
    expect(
      observed.logs.lines().map((line) => [line.event, line.level, line.error_type ?? null]),
    ).toEqual([
      ['tool.execute.crashed', 'error', null],
      ['tool.execute.failed', 'warn', 'TypeError'],
      ['tool.execute.failed', 'warn', 'tool_error'],
    ]);
    expect(
      sampleValue(await observed.samples(), 'tool_calls_total', {
        tool_name: 'calculator',
        success: 'false',
      }),
    ).toBe(2);
  });

  it('gives a call that never reached a tool its span, its sample and its line', async () => {
    await observed
      .get(ToolCallObserver)
      .rejected({ toolName: 'calculator', callId: 'c8' }, 'invalid_arguments');
    await observed
      .get(ToolCallObserver)
      .refused({ toolName: '_unknown', callId: 'c9' }, 'unknown_tool', 'shell');
    const span = spanNamed(await tracing.collectSpans(), 'execute_tool _unknown');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'unknown_tool' });
    expect(span.attributes).toMatchObject({
      'error.type': 'unknown_tool',
      'gen_ai.tool.call.id': 'c9',
    });
    for (const toolName of ['calculator', '_unknown']) {
      expect(
        sampleValue(await observed.samples(), 'tool_calls_total', {
          tool_name: toolName,
          success: 'false',
        }),
      ).toBe(1);
    }
    expect(observed.logs.lines()).toEqual([
      expect.objectContaining({
        level: 'warn',
        event: 'tool.execute.failed',
        tool_name: 'calculator',
        tool_call_id: 'c8',
        error_type: 'invalid_arguments',
      }),
      expect.objectContaining({
        level: 'warn',
        event: 'tool.execute.refused',
        tool_name: '_unknown',
        requested_name: 'shell',
        reason: 'unknown_tool',
        tool_call_id: 'c9',
      }),
    ]);
  });

  it("keeps the method's name and Nest metadata", () => {
    const method = FakeCalculator.prototype.execute;
    expect(method.name).toBe('execute');
    expect(Reflect.getMetadata('tool:kind', method)).toBe('arithmetic');
  });

  it('makes no spans inside a request the tracing hooks did not trace (no orphan trees), but still counts and logs', async () => {
    await runWithRequestContext(newRequestContext('req_unsampled'), () =>
      observed.get(FakeRunner).execute(AGENT, 'hi'),
    );
    expect(await tracing.collectSpans()).toHaveLength(0);
    expect(observed.logs.events('agent.execute.completed')).toHaveLength(1);
    for (const line of observed.logs.lines()) expect(line.trace_id).toBeUndefined();
  });

  it('makes no spans inside a trace the sampler declined, but still counts and logs', async () => {
    const unsampled = trace.wrapSpanContext({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.NONE,
    });
    await context.with(trace.setSpan(context.active(), unsampled), () =>
      observed.get(FakeRunner).execute(AGENT, 'hi'),
    );
    expect(await tracing.collectSpans()).toHaveLength(0);
    expect(observed.logs.events('agent.execute.completed')).toHaveLength(1);
    for (const line of observed.logs.lines()) expect(line.trace_id).toBeUndefined();
    expect(
      sampleValue(await observed.samples(), 'llm_requests_total', {
        model: 'gpt-4o-mini',
        status: 'success',
      }),
    ).toBe(1);
  });

  it('reports a budget refusal once: the counter and one warning', async () => {
    observed.get(BudgetObserver).refused({
      period: 'daily',
      requestedTokens: 512,
      resetsAt: new Date('2026-12-02T00:00:00Z'),
    });
    expect(
      sampleValue(await observed.samples(), 'token_budget_exceeded_total', { period: 'daily' }),
    ).toBe(1);
    expect(observed.logs.lines()).toEqual([
      expect.objectContaining({
        level: 'warn',
        event: 'budget.exceeded',
        period: 'daily',
        requested_tokens: 512,
        resets_at: '2026-12-02T00:00:00.000Z',
      }),
    ]);
  });

  it('reports swept runs once: the counter by their number, one warning with at most 20 ids', async () => {
    const runIds = Array.from({ length: 120 }, (_, i) => `run-${i}`);
    observed.get(RunSweepObserver).interrupted({ runIds, olderThanMs: 330_000 });
    expect(sampleValue(await observed.samples(), 'agent_runs_interrupted_total')).toBe(120);
    const [line, ...others] = observed.logs.lines();
    expect(others).toEqual([]);
    expect(line).toMatchObject({
      level: 'warn',
      event: 'run.interrupted',
      count: 120,
      older_than_ms: 330_000,
    });
    expect(line.run_ids).toEqual(runIds.slice(0, 20));
  });

  it('reports a sweep the database refused as a warning with the reason, not an error', () => {
    observed.get(RunSweepObserver).sweepFailed(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    expect(observed.logs.lines()).toEqual([
      expect.objectContaining({
        level: 'warn',
        event: 'run.sweep.failed',
        error: 'connect ECONNREFUSED 127.0.0.1:5432',
      }),
    ]);
  });

  it('reports health checks every time, and logs only the changes of state', async () => {
    const health = observed.get(HealthCheckObserver);
    health.checked({ component: 'redis', up: true, durationMs: 2 });
    health.checked({ component: 'redis', up: false, durationMs: 2000, error: 'timed out' });
    health.checked({ component: 'redis', up: false, durationMs: 2000, error: 'timed out' });
    health.checked({ component: 'redis', up: true, durationMs: 3 });
    const samples = await observed.samples();
    expect(sampleValue(samples, 'health_component_up', { component: 'redis' })).toBe(1);
    expect(
      sampleValue(samples, 'health_check_duration_seconds_count', { component: 'redis' }),
    ).toBe(4);
    expect(observed.logs.lines().map((line) => [line.event, line.level, line.error])).toEqual([
      ['health.component.down', 'warn', 'timed out'],
      ['health.component.recovered', 'info', undefined],
    ]);
  });
});

describe('observers with message content capture on', () => {
  let tracing: InMemoryTracing;
  let observed: ObservedModule;

  beforeAll(async () => {
    tracing = startInMemoryTracing({
      LOG_LEVEL: 'silent',
      OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true',
    });
    observed = await observedModule();
  });
  afterAll(async () => {
    await observed.close();
    await tracing.stop();
  });

  it('records prompt, completion and tool arguments in the GenAI message attributes', async () => {
    await observed.get(FakeRunner).execute(AGENT, SECRET_PROMPT);
    const spans = await tracing.collectSpans();
    const chat = spanNamed(spans, 'chat gpt-4o-mini');
    expect(JSON.parse(chat.attributes['gen_ai.input.messages'] as string)).toEqual([
      { role: 'user', parts: [{ type: 'text', content: SECRET_PROMPT }] },
    ]);
    expect(JSON.parse(chat.attributes['gen_ai.output.messages'] as string)).toEqual([
      {
        role: 'assistant',
        parts: [{ type: 'text', content: 'The answer is 4' }],
        finish_reason: 'stop',
      },
    ]);
    const tool = spanNamed(spans, 'execute_tool calculator');
    expect(tool.attributes['gen_ai.tool.call.arguments']).toBe('{"expression":"2+2"}');
    expect(tool.attributes['gen_ai.tool.call.result']).toBe('4');
    const run = spanNamed(spans, 'invoke_agent helper');
    expect(run.attributes['gen_ai.input.messages']).toContain('zebra');
    expect(run.attributes['gen_ai.output.messages']).toContain('The answer is 4');
  });
});

describe('observers (telemetry off)', () => {
  let observed: ObservedModule;
  beforeAll(async () => {
    observed = await observedModule();
  });
  afterAll(() => observed.close());

  it('runs the methods with their own this, makes no span, and still counts and logs', async () => {
    await expect(observed.get(FakeRunner).execute(AGENT, 'hi')).resolves.toMatchObject({
      status: 'success',
    });
    expect(trace.getActiveSpan()).toBeUndefined();
    expect(observed.logs.events('agent.execute.completed')).toHaveLength(1);
    for (const line of observed.logs.lines()) expect(line.trace_id).toBeUndefined();
  });

  it('leaves an instance made outside Nest untouched: no observer, no report', async () => {
    const tool = new FakeCalculator();
    await expect(tool.execute({ expression: '1+3' }, { callId: 'c' })).resolves.toBe('4');
    expect(
      sampleValue(await observed.samples(), 'tool_calls_total', {
        tool_name: 'calculator',
        success: 'true',
      }),
    ).toBe(1);
  });
});
