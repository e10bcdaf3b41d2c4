import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { startLlmSimulator } from '../../../tools/llm-simulator';
import type { LlmSimulator } from '../../../tools/llm-simulator';
import { startTestApp, TestApp } from '../../helpers/app';
import { InMemoryTracing, startInMemoryTracing } from '../../helpers/in-memory-tracing';
import { captureLogs, LogLine } from '../../helpers/log-capture';
import {
  createAgent,
  createTenant,
  runAgent,
  TEST_ADMIN_KEY,
  TestTenant,
} from '../../helpers/platform';
import { waitFor } from '../../helpers/wait-for';

// The SDK must start before the app's modules load, as the preload does in production.
const tracing: InMemoryTracing = startInMemoryTracing();

describe('log lines of an agent run with telemetry on', () => {
  const logs = captureLogs();
  let sim: LlmSimulator;
  let app: TestApp;
  let tenant: TestTenant;

  beforeAll(async () => {
    sim = await startLlmSimulator();
    app = await startTestApp(
      {
        ENABLE_TELEMETRY: 'true',
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
        LLM_PROXY_URL: sim.url,
        ADMIN_API_KEY: TEST_ADMIN_KEY,
      },
      { logDestination: logs.destination },
    );
    tenant = await createTenant(app.url, { name: 'acme', userId: 'alice' });
  });

  afterAll(async () => {
    await app?.close();
    await sim?.close();
    await tracing.stop();
  });

  async function runAndCollect(): Promise<{
    requestId: string;
    runBody: { trace_id: string; usage: Record<string, number> };
    lines: LogLine[];
    spans: ReadableSpan[];
  }> {
    const agent = await createAgent(app.url, tenant.key);
    logs.clear();
    tracing.reset();
    const res = await runAgent(app.url, tenant.key, agent.id, 'What is 2+3?', {
      'x-request-id': `run-${agent.id}`,
    });
    expect(res.status).toBe(201);
    const requestId = res.headers.get('x-request-id') ?? '';
    await waitFor(() => logs.events('http.request.completed').length > 0);
    const spans = await tracing.collectSpans();
    return {
      requestId,
      runBody: res.body,
      lines: logs.lines().filter((line) => line.request_id === requestId),
      spans: spans.filter((span) => span.spanContext().traceId === res.body.trace_id),
    };
  }

  it('stamps every line of the request with its request id, the key’s tenant and user, and the exported trace', async () => {
    const { requestId, runBody, lines, spans } = await runAndCollect();
    expect(requestId).toMatch(/^run-/);
    expect(runBody.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(lines.map((line) => line.event)).toEqual(
      expect.arrayContaining([
        'agent.execute.started',
        'llm.request.completed',
        'agent.execute.completed',
        'http.request.completed',
      ]),
    );
    const spanIds = new Set(spans.map((span) => span.spanContext().spanId));
    for (const line of lines) {
      expect(line).toMatchObject({
        request_id: requestId,
        tenant_id: tenant.id,
        user_id: 'alice',
        trace_id: runBody.trace_id,
      });
      expect(spanIds).toContain(line.span_id);
    }
  });

  it('carries the id of the span active when the line was written, nested spans included', async () => {
    const { lines, spans } = await runAndCollect();
    const spanOf = (line: LogLine) =>
      spans.find((span) => span.spanContext().spanId === line.span_id);
    const only = (event: string) => {
      const matching = lines.filter((line) => line.event === event);
      expect(matching.length).toBeGreaterThan(0);
      return matching;
    };
    const server = spanOf(only('http.request.completed')[0]);
    expect(server?.name).toBe('POST /v1/agents/:id/runs');
    const agentSpan = spanOf(only('agent.execute.started')[0]);
    expect(agentSpan?.name).toMatch(/^invoke_agent /);
    expect(agentSpan?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    for (const line of only('llm.request.completed')) {
      const chat = spanOf(line);
      expect(chat?.name).toBe('chat sim-small');
      expect(chat?.parentSpanContext?.spanId).toBe(agentSpan?.spanContext().spanId);
    }
  });

  it('logs llm.request.completed with duration and the token counts of the run’s usage', async () => {
    const { runBody, lines, spans } = await runAndCollect();
    const completed = lines.filter((line) => line.event === 'llm.request.completed');
    expect(completed.length).toBeGreaterThan(0);
    for (const line of completed) {
      expect(line).toMatchObject({
        model: 'sim-small',
        status: 'success',
        duration_ms: expect.any(Number),
        prompt_tokens: expect.any(Number),
        completion_tokens: expect.any(Number),
      });
    }
    const sum = (field: string) =>
      completed.reduce((total, line) => total + Number(line[field]), 0);
    expect(sum('prompt_tokens')).toBe(runBody.usage.prompt_tokens);
    expect(sum('completion_tokens')).toBe(runBody.usage.completion_tokens);
    // and they agree with what the chat spans recorded
    const chatSpans = spans.filter((span) => span.name.startsWith('chat '));
    expect(chatSpans).toHaveLength(completed.length);
    const spanTotal = chatSpans.reduce(
      (total, span) => total + Number(span.attributes['gen_ai.usage.input_tokens']),
      0,
    );
    expect(spanTotal).toBe(runBody.usage.prompt_tokens);
  });
});
