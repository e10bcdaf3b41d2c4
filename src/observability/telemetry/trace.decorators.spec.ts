import { SetMetadata } from '@nestjs/common';
import { context, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import {
  spanNamed,
  startInMemoryTracing,
  type InMemoryTracing,
} from '../../../test/helpers/in-memory-tracing';
import { newRequestContext, runWithRequestContext } from '../context/request-context';
import { TraceAgent, TraceLlmCall, TraceTool } from './trace.decorators';

class FailingLlmError extends Error {
  constructor(readonly errorType: string) {
    super('upstream answered 503');
    this.name = 'LlmRequestError';
  }
}

class FakeLlmClient {
  failWith: Error | undefined;

  @TraceLlmCall()
  async chat(request: { model: string; messages: { role: string; content: string }[] }) {
    await Promise.resolve();
    if (this.failWith) throw this.failWith;
    return {
      id: 'chatcmpl-1',
      model: `${request.model}-2026`,
      message: { role: 'assistant', content: 'The answer is 4', tool_calls: undefined },
      finishReason: 'stop',
      usage: { promptTokens: 31, completionTokens: 7, totalTokens: 38, estimated: false },
    };
  }
}

class CalculatorTool {
  readonly name = 'calculator';

  @TraceTool()
  @SetMetadata('tool:kind', 'arithmetic')
  async execute(args: Record<string, unknown>, _context: { tenantId: string; callId: string }) {
    await Promise.resolve();
    if (args.expression === 'boom') throw new TypeError('unparseable expression');
    return '4';
  }
}

class FakeRunner {
  constructor(
    private readonly llm: FakeLlmClient,
    private readonly tool: CalculatorTool,
    private readonly status = 'success',
  ) {}

  @TraceAgent()
  async execute(agent: { id: string; name: string; type: string }, input: string) {
    await this.tool.execute({ expression: '2+2' }, { tenantId: 't1', callId: 'call_1' });
    const response = await this.llm.chat({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: input }],
    });
    return {
      status: this.status,
      output: response.message.content,
      usage: { promptTokens: 31, completionTokens: 7 },
      agent: agent.id,
    };
  }
}

const AGENT = { id: 'agent-1', name: 'helper', type: 'assistant' };
const SECRET_PROMPT = 'what is 2+2 for my secret project zebra';

describe('tracing decorators (telemetry on)', () => {
  let tracing: InMemoryTracing;

  beforeAll(() => {
    tracing = startInMemoryTracing();
  });
  afterAll(() => tracing.stop());
  beforeEach(() => tracing.reset());

  it('produces invoke_agent, chat and execute_tool spans with the GenAI attributes', async () => {
    const runner = new FakeRunner(new FakeLlmClient(), new CalculatorTool());
    await runner.execute(AGENT, SECRET_PROMPT);
    const spans = await tracing.collectSpans();

    const run = spanNamed(spans, 'invoke_agent helper');
    const chat = spanNamed(spans, 'chat gpt-4o-mini');
    const tool = spanNamed(spans, 'execute_tool calculator');

    expect(run.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.provider.name': 'openai',
      'gen_ai.agent.id': 'agent-1',
      'gen_ai.agent.name': 'helper',
      'gen_ai.usage.input_tokens': 31,
      'gen_ai.usage.output_tokens': 7,
    });
    expect(run.status.code).toBe(SpanStatusCode.UNSET);

    expect(chat.kind).toBe(SpanKind.CLIENT);
    expect(chat.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini-2026',
      'gen_ai.response.id': 'chatcmpl-1',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 31,
      'gen_ai.usage.output_tokens': 7,
    });

    expect(tool.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'calculator',
      'gen_ai.tool.call.id': 'call_1',
      'gen_ai.tool.type': 'function',
    });

    for (const child of [chat, tool]) {
      expect(child.spanContext().traceId).toBe(run.spanContext().traceId);
      expect(child.parentSpanContext?.spanId).toBe(run.spanContext().spanId);
    }
  });

  it('records no prompt, completion or tool text by default', async () => {
    const runner = new FakeRunner(new FakeLlmClient(), new CalculatorTool());
    await runner.execute(AGENT, SECRET_PROMPT);
    const spans = await tracing.collectSpans();
    const everything = JSON.stringify(spans.map((span) => span.attributes));
    expect(everything).not.toContain('zebra');
    expect(everything).not.toContain('The answer is 4');
    expect(everything).not.toContain('2+2');
  });

  it('marks a failing chat call ERROR with error.type, records the exception and rethrows it', async () => {
    const llm = new FakeLlmClient();
    const failure = new FailingLlmError('http_503');
    llm.failWith = failure;
    const runner = new FakeRunner(llm, new CalculatorTool());

    await expect(runner.execute(AGENT, 'hi')).rejects.toBe(failure);
    const spans = await tracing.collectSpans();

    for (const name of ['chat gpt-4o-mini', 'invoke_agent helper']) {
      const span = spanNamed(spans, name);
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'upstream answered 503' });
      expect(span.attributes['error.type']).toBe('http_503');
      expect(span.events.map((event) => event.name)).toContain('exception');
    }
  });

  it('uses the class name as error.type when the error has no errorType of its own', async () => {
    const tool = new CalculatorTool();
    await expect(
      tool.execute({ expression: 'boom' }, { tenantId: 't', callId: 'c' }),
    ).rejects.toThrow(TypeError);
    const span = spanNamed(await tracing.collectSpans(), 'execute_tool calculator');
    expect(span.attributes['error.type']).toBe('TypeError');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
  });

  it.each(['error', 'budget_exceeded'])(
    'marks the run span ERROR when the run ends with %s',
    async (status) => {
      const runner = new FakeRunner(new FakeLlmClient(), new CalculatorTool(), status);
      await runner.execute(AGENT, 'hi');
      const run = spanNamed(await tracing.collectSpans(), 'invoke_agent helper');
      expect(run.status.code).toBe(SpanStatusCode.ERROR);
      expect(run.attributes['error.type']).toBe(status);
    },
  );

  it('keeps a max_steps run OK: it is an answer, not a failure', async () => {
    const runner = new FakeRunner(new FakeLlmClient(), new CalculatorTool(), 'max_steps');
    await runner.execute(AGENT, 'hi');
    const run = spanNamed(await tracing.collectSpans(), 'invoke_agent helper');
    expect(run.status.code).toBe(SpanStatusCode.UNSET);
  });

  it("keeps the method's name and Nest metadata", () => {
    const method = CalculatorTool.prototype.execute;
    expect(method.name).toBe('execute');
    expect(Reflect.getMetadata('tool:kind', method)).toBe('arithmetic');
  });

  it('stamps tenant_id, user_id and agent_id from the request context on every span', async () => {
    const ctx = newRequestContext('req_1');
    ctx.tenantId = 'tenant-a';
    ctx.userId = 'alice';
    await runWithRequestContext(ctx, async () => {
      // bound later in the request, as the runner does: the spans still carry it
      ctx.agentId = 'agent-1';
      await new FakeRunner(new FakeLlmClient(), new CalculatorTool()).execute(AGENT, 'hi');
    });
    const spans = await tracing.collectSpans();
    expect(spans).toHaveLength(3);
    for (const span of spans) {
      expect(span.attributes).toMatchObject({
        tenant_id: 'tenant-a',
        user_id: 'alice',
        agent_id: 'agent-1',
      });
    }
  });

  it('makes no spans inside a trace the sampler declined', async () => {
    const unsampled = trace.wrapSpanContext({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.NONE,
    });
    await context.with(trace.setSpan(context.active(), unsampled), () =>
      new FakeRunner(new FakeLlmClient(), new CalculatorTool()).execute(AGENT, 'hi'),
    );
    expect(await tracing.collectSpans()).toHaveLength(0);
  });

  it('returns the value of a synchronous method and traces it', async () => {
    class Sync {
      readonly name = 'current_time';
      @TraceTool()
      execute(): string {
        return 'noon';
      }
    }
    expect(new Sync().execute()).toBe('noon');
    expect(spanNamed(await tracing.collectSpans(), 'execute_tool current_time')).toBeDefined();
  });
});

describe('tracing decorators with message content capture on', () => {
  let tracing: InMemoryTracing;

  beforeAll(() => {
    tracing = startInMemoryTracing({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' });
  });
  afterAll(() => tracing.stop());

  it('records prompt, completion and tool arguments in the GenAI message attributes', async () => {
    await new FakeRunner(new FakeLlmClient(), new CalculatorTool()).execute(AGENT, SECRET_PROMPT);
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
  });
});

describe('tracing decorators (telemetry off)', () => {
  it('calls the method directly, with its own this, and makes no span', async () => {
    const tool = new CalculatorTool();
    await expect(tool.execute({ expression: '1+3' }, { tenantId: 't', callId: 'c' })).resolves.toBe(
      '4',
    );
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
