import { startLlmSimulator } from '../../../tools/llm-simulator';
import type { LlmSimulator } from '../../../tools/llm-simulator';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { chatRequests } from '../../helpers/llm-simulator';
import {
  OTLP_SPAN_KIND,
  OTLP_STATUS,
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
} from '../../helpers/otlp-receiver';
import {
  createAgent,
  createTenant,
  request,
  runAgent,
  TEST_ADMIN_KEY,
  type TestTenant,
} from '../../helpers/platform';
import { ensureAppBuilt, spawnApp, type SpawnedApp } from '../../helpers/spawn-app';

const REDIS_URL = 'redis://127.0.0.1:6379';
const INPUT = 'What is 2+3? (ask for project zebra)';

function one(
  spans: readonly ReceivedSpan[],
  predicate: (span: ReceivedSpan) => boolean,
  what: string,
) {
  const found = spans.filter(predicate);
  if (found.length !== 1) {
    throw new Error(
      `expected one ${what}, found ${found.length} in [${spans.map((s) => s.name).join(', ')}]`,
    );
  }
  return found[0];
}

/** The spans of one trace once its server span (the last to end) has arrived. */
async function traceOfRun(receiver: OtlpReceiver, traceId: string): Promise<ReceivedSpan[]> {
  await receiver.waitForSpans((spans) =>
    spans.some((span) => span.traceId === traceId && span.kind === OTLP_SPAN_KIND.server),
  );
  return receiver.trace(traceId);
}

/**
 * The built app in a child process, preloaded as in production, exporting
 * over real OTLP/gRPC to a receiver in the test, against the real
 * PostgreSQL, Redis and the LLM simulator.
 */
describe('traces of an agent run (built app, OTLP/gRPC)', () => {
  let receiver: OtlpReceiver;
  let sim: LlmSimulator;
  let db: TestDatabase;
  let app: SpawnedApp;
  let tenant: TestTenant;
  let agent: { id: string };

  beforeAll(async () => {
    await ensureAppBuilt();
    [receiver, sim, db] = await Promise.all([
      startOtlpReceiver(),
      startLlmSimulator(),
      createTestDatabase('tracing'),
    ]);
    app = await spawnApp({
      ENABLE_TELEMETRY: 'true',
      OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '50',
      DATABASE_URL: db.url,
      REDIS_URL,
      LLM_PROXY_URL: sim.url,
      LLM_MAX_RETRIES: '0',
      ADMIN_API_KEY: TEST_ADMIN_KEY,
    });
    tenant = await createTenant(app.url, { name: 'acme', userId: 'alice' });
    agent = await createAgent(app.url, tenant.key, { name: 'Math helper', tools: ['calculator'] });
  }, 300_000);

  afterAll(async () => {
    await app?.stop();
    await Promise.all([receiver?.stop(), sim?.close(), db?.drop()]);
  });

  beforeEach(() => {
    sim.setOptions({ failNext: 0 });
    sim.clearRequests();
  });

  it('logs telemetry.initialized with the exporter endpoint and the sample ratio', async () => {
    const line = await app.waitForLog((entry) => entry.event === 'telemetry.initialized');
    expect(line).toMatchObject({ level: 'info', endpoint: receiver.endpoint, sample_ratio: 1 });
    expect(app.jsonLogs().some((entry) => entry.event === 'telemetry.late_start')).toBe(false);
  });

  it('yields one trace: server span → invoke_agent → chat (→ HTTP client) ×2 and execute_tool, with pg and Redis spans', async () => {
    const res = await runAgent(app.url, tenant.key, agent.id, INPUT);
    expect(res.status).toBe(201);
    const traceId: string = res.body.trace_id;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(res.headers.get('traceresponse')).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));

    const spans = await traceOfRun(receiver, traceId);
    const server = one(spans, (s) => s.kind === OTLP_SPAN_KIND.server, 'server span');
    const run = one(spans, (s) => s.name === 'invoke_agent Math helper', 'invoke_agent span');
    const chats = spans.filter((s) => s.name === 'chat sim-small');
    const tool = one(spans, (s) => s.name === 'execute_tool calculator', 'execute_tool span');

    // the tree
    expect(server.name).toBe('POST /v1/agents/:id/runs');
    expect(server.parentSpanId).toBeUndefined();
    expect(spans.filter((s) => s.parentSpanId === undefined)).toEqual([server]);
    expect(run.parentSpanId).toBe(server.spanId);
    expect(chats).toHaveLength(2);
    for (const chat of chats) {
      expect(chat.parentSpanId).toBe(run.spanId);
      expect(chat.kind).toBe(OTLP_SPAN_KIND.client);
      const outbound = spans.filter((s) => s.parentSpanId === chat.spanId);
      expect(outbound).toHaveLength(1);
      expect(outbound[0].kind).toBe(OTLP_SPAN_KIND.client);
      expect(String(outbound[0].attributes['url.full'])).toContain(
        `${sim.url}/v1/chat/completions`,
      );
    }
    expect(tool.parentSpanId).toBe(run.spanId);
    const dbSpans = spans.filter(
      (s) =>
        s.attributes['db.system.name'] === 'postgresql' ||
        s.attributes['db.system'] === 'postgresql',
    );
    const redisSpans = spans.filter(
      (s) => s.attributes['db.system.name'] === 'redis' || s.attributes['db.system'] === 'redis',
    );
    expect(dbSpans.length).toBeGreaterThan(0);
    expect(redisSpans.length).toBeGreaterThan(0);

    // GenAI attributes
    expect(server.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/v1/agents/:id/runs',
      'http.response.status_code': 201,
    });
    expect(run.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.provider.name': 'openai',
      'gen_ai.agent.id': agent.id,
      'gen_ai.agent.name': 'Math helper',
    });
    const finishReasons = chats.map((chat) => chat.attributes['gen_ai.response.finish_reasons']);
    expect(finishReasons).toEqual(expect.arrayContaining([['tool_calls'], ['stop']]));
    for (const chat of chats) {
      expect(chat.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'sim-small',
        'gen_ai.response.model': 'sim-small',
      });
    }
    // token counts are the simulator's usage, which the run adds up
    const sum = (key: string) =>
      chats.reduce((total, chat) => total + Number(chat.attributes[key]), 0);
    expect(sum('gen_ai.usage.input_tokens')).toBe(res.body.usage.prompt_tokens);
    expect(sum('gen_ai.usage.output_tokens')).toBe(res.body.usage.completion_tokens);
    expect(res.body.usage.prompt_tokens).toBeGreaterThan(0);

    const toolMessage = (
      chatRequests(sim)[1].body as { messages: { role: string; tool_call_id?: string }[] }
    ).messages.find((message) => message.role === 'tool');
    expect(tool.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'calculator',
      'gen_ai.tool.call.id': toolMessage?.tool_call_id,
    });

    // the original's request attributes
    for (const span of [server, run, tool, ...chats]) {
      expect(span.attributes).toMatchObject({
        tenant_id: tenant.id,
        user_id: 'alice',
        agent_id: agent.id,
      });
    }

    // resource
    expect(server.resource).toMatchObject({
      'service.name': 'enterprise-agent-platform',
      'service.version': expect.any(String),
      'deployment.environment.name': 'test',
      'service.instance.id': expect.any(String),
    });

    // the stored run carries the same trace id
    const stored = await request(app.url, 'GET', `/v1/runs/${res.body.id}`, { key: tenant.key });
    expect(stored.body.trace_id).toBe(traceId);
  });

  it('records no prompt or completion text in any attribute by default', async () => {
    const res = await runAgent(app.url, tenant.key, agent.id, INPUT);
    const spans = await traceOfRun(receiver, res.body.trace_id);
    const everything = JSON.stringify(spans.map((span) => [span.attributes, span.events]));
    expect(everything).not.toContain('zebra');
    expect(everything).not.toContain('gen_ai.input.messages');
    expect(everything).not.toContain(String(res.body.output));
  });

  it('continues an incoming traceparent and sends the same trace to the LLM proxy', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    const res = await runAgent(app.url, tenant.key, agent.id, INPUT, {
      traceparent: `00-${traceId}-${parentId}-01`,
    });
    expect(res.status).toBe(201);
    expect(res.body.trace_id).toBe(traceId);

    const spans = await traceOfRun(receiver, traceId);
    const server = one(spans, (s) => s.kind === OTLP_SPAN_KIND.server, 'server span');
    expect(server.parentSpanId).toBe(parentId);

    const sent = chatRequests(sim).map((req) => String(req.headers.traceparent));
    expect(sent).toHaveLength(2);
    const outboundIds = new Set(
      spans
        .filter((s) => s.kind === OTLP_SPAN_KIND.client && s.attributes['url.full'])
        .map((s) => s.spanId),
    );
    for (const traceparent of sent) {
      const [, sentTrace, sentParent, flags] = traceparent.split('-');
      expect(sentTrace).toBe(traceId);
      expect(flags).toBe('01');
      expect(outboundIds.has(sentParent)).toBe(true);
    }
  });

  it('follows a caller that does not sample: no spans, no trace id, still propagated', async () => {
    const traceId = '5bf92f3577b34da6a3ce929d0e0e4737';
    const res = await runAgent(app.url, tenant.key, agent.id, INPUT, {
      traceparent: `00-${traceId}-00f067aa0ba902b7-00`,
    });
    expect(res.status).toBe(201);
    expect(res.body.trace_id).toBeNull();
    expect(res.headers.get('traceresponse')).toBeNull();
    for (const req of chatRequests(sim)) {
      expect(String(req.headers.traceparent)).toMatch(
        new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`),
      );
    }
    // a later sampled request's spans arrive; the unsampled one's never did
    const later = await runAgent(app.url, tenant.key, agent.id, INPUT);
    await traceOfRun(receiver, later.body.trace_id);
    expect(receiver.trace(traceId)).toEqual([]);
  });

  it('marks a failing LLM call ERROR with error.type, and the run span too', async () => {
    sim.setOptions({ failNext: 1, failureStatus: 500 });
    const res = await runAgent(app.url, tenant.key, agent.id, INPUT);
    expect(res.status).toBe(502);
    const traceId = res.headers.get('traceresponse')?.split('-')[1] ?? '';

    const spans = await traceOfRun(receiver, traceId);
    const chat = one(spans, (s) => s.name === 'chat sim-small', 'chat span');
    expect(chat.status.code).toBe(OTLP_STATUS.error);
    expect(chat.attributes['error.type']).toBe('http_500');
    expect(chat.events.map((event) => event.name)).toContain('exception');

    const run = one(spans, (s) => s.name === 'invoke_agent Math helper', 'invoke_agent span');
    expect(run.status.code).toBe(OTLP_STATUS.error);
    expect(run.attributes['error.type']).toEqual(expect.any(String));

    const server = one(spans, (s) => s.kind === OTLP_SPAN_KIND.server, 'server span');
    expect(server.status.code).toBe(OTLP_STATUS.error);
    expect(server.attributes['error.type']).toBe('502');
  });

  it('never traces /metrics or /health/*', async () => {
    for (const path of ['/metrics', '/health/live', '/health/ready', '/health']) {
      const res = await fetch(`${app.url}${path}`);
      expect(res.headers.get('traceresponse')).toBeNull();
    }
    const info = await fetch(`${app.url}/v1/info`);
    const traceId = info.headers.get('traceresponse')?.split('-')[1] ?? '';
    const [span] = await traceOfRun(receiver, traceId);
    expect(span.name).toBe('GET /v1/info');
    expect(receiver.spans.filter((s) => /^GET \/(metrics|health)/.test(s.name))).toEqual([]);
  });
});
