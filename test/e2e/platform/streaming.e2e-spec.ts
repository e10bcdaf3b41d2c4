import { startLlmSimulator } from '../../../tools/llm-simulator';
import type { LlmSimulator } from '../../../tools/llm-simulator';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { chatRequests } from '../../helpers/llm-simulator';
import { sampleValue, scrapeMetrics } from '../../helpers/metrics';
import { startOtlpReceiver, type OtlpReceiver } from '../../helpers/otlp-receiver';
import {
  createAgent,
  createTenant,
  request,
  TEST_ADMIN_KEY,
  TestTenant,
} from '../../helpers/platform';
import { ensureAppBuilt, spawnApp, type SpawnedApp } from '../../helpers/spawn-app';
import { eventNames, openEventStream, type EventStream } from '../../helpers/sse';
import { waitFor } from '../../helpers/wait-for';

const REDIS_URL = 'redis://127.0.0.1:6379';
const ROUTE = { method: 'POST', endpoint: '/v1/agents/:id/runs' };

/**
 * Streamed runs against the built app (a child process, preloaded as in
 * production) and the LLM simulator, read by a real SSE client over HTTP.
 */
describe('streamed runs (built app, server-sent events)', () => {
  let receiver: OtlpReceiver;
  let sim: LlmSimulator;
  let db: TestDatabase;
  let app: SpawnedApp;
  let tenant: TestTenant;
  let agentId: string;
  let plainAgentId: string;

  beforeAll(async () => {
    await ensureAppBuilt();
    [receiver, sim, db] = await Promise.all([
      startOtlpReceiver(),
      startLlmSimulator(),
      createTestDatabase('streaming'),
    ]);
    app = await spawnApp({
      ENABLE_TELEMETRY: 'true',
      OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '50',
      DATABASE_URL: db.url,
      REDIS_URL,
      LLM_PROXY_URL: sim.url,
      LLM_MAX_RETRIES: '1',
      LLM_TIMEOUT_MS: '3000',
      ADMIN_API_KEY: TEST_ADMIN_KEY,
    });
    tenant = await createTenant(app.url, { name: 'watchers' });
    agentId = (await createAgent(app.url, tenant.key, { tools: ['calculator'] })).id;
    plainAgentId = (await createAgent(app.url, tenant.key, { type: 'chat_agent', tools: [] })).id;
  }, 300_000);

  afterAll(async () => {
    await app?.stop();
    await Promise.all([receiver?.stop(), sim?.close(), db?.drop()]);
  });

  beforeEach(() => {
    sim.setOptions({
      latencyMs: 0,
      chunkLatencyMs: 0,
      dropStreamAfterChunks: 0,
      failNext: 0,
      omitUsage: false,
    });
    sim.setScript(undefined);
    sim.clearRequests();
  });

  function streamRun(
    input: string,
    options: {
      agent?: string;
      body?: Record<string, unknown>;
      headers?: Record<string, string>;
    } = {},
  ): Promise<EventStream> {
    return openEventStream(app.url, `/v1/agents/${options.agent ?? agentId}/runs`, {
      headers: { authorization: `Bearer ${tenant.key}`, ...options.headers },
      body: options.body ?? { input, stream: true },
    });
  }

  const accessLines = (requestId: string) =>
    app
      .jsonLogs()
      .filter((line) => line.event === 'http.request.completed' && line.request_id === requestId);

  it('tells a tool-using run step by step, in order, and ends with the stored run', async () => {
    const stream = await streamRun('What is (2+3)*4?', {
      headers: { 'x-request-id': 'stream-order-1' },
    });
    await stream.ended;

    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers['cache-control']).toBe('no-cache');
    expect(stream.headers['x-request-id']).toBe('stream-order-1');
    const names = eventNames(stream);
    // Step 1 calls the calculator; step 2 answers with text.
    expect(names[0]).toBe('run.created');
    expect(names.slice(1, 5)).toEqual([
      'step.started',
      'tool.started',
      'tool.completed',
      'step.completed',
    ]);
    expect(names[5]).toBe('step.started');
    expect(names.slice(6, -2).every((name) => name === 'message.delta')).toBe(true);
    expect(names.slice(6, -2).length).toBeGreaterThan(1);
    expect(names.slice(-2)).toEqual(['step.completed', 'run.completed']);

    const created = stream.events[0].json;
    expect(created).toMatchObject({
      id: expect.any(String),
      agent_id: agentId,
      status: 'running',
      output: null,
    });
    expect(stream.headers.location).toBe(`/v1/runs/${created.id}`);
    const runId: string = created.id;
    for (const event of stream.events.slice(1, -1)) expect(event.json.run_id).toBe(runId);
    expect(stream.events.map((event) => event.json.step).slice(1, -1)).toEqual([
      1,
      1,
      1,
      1,
      2,
      ...names.slice(6, -2).map(() => 2),
      2,
    ]);
    const [toolStarted, toolCompleted] = [stream.events[2].json, stream.events[3].json];
    expect(toolStarted).toEqual({
      run_id: runId,
      step: 1,
      tool_call_id: expect.stringMatching(/^call_/),
      name: 'calculator',
    });
    // Without content capture, neither the arguments nor the result.
    expect(toolCompleted).toEqual({ ...toolStarted, success: true });

    const final = stream.events[stream.events.length - 1].json;
    expect(final).toMatchObject({
      id: runId,
      status: 'success',
      output: 'The result is 20.',
      steps: 2,
    });
    const deltas = stream.events.filter((event) => event.event === 'message.delta');
    expect(deltas.map((event) => event.json.content).join('')).toBe(final.output);
    // The stored run is what the stream ended with.
    const stored = await request(app.url, 'GET', `/v1/runs/${runId}`, { key: tenant.key });
    expect(stored.body).toEqual(final);
    // Each step's usage adds up to the run's; the simulator reports usage in the stream.
    const steps = stream.events
      .filter((event) => event.event === 'step.completed')
      .map((event) => event.json);
    expect(steps.map((step) => step.finish_reason)).toEqual(['tool_calls', 'stop']);
    expect(steps.every((step) => step.usage.estimated === false)).toBe(true);
    expect(steps.reduce((sum, step) => sum + step.usage.total_tokens, 0)).toBe(
      final.usage.total_tokens,
    );
    expect(final.usage.estimated).toBe(false);
    // Both model calls were streamed from the proxy, with the budget's bound.
    expect(chatRequests(sim).map((call) => call.body)).toEqual([
      expect.objectContaining({
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: expect.any(Number),
      }),
      expect.objectContaining({ stream: true, max_tokens: expect.any(Number) }),
    ]);
  });

  it('assembles tool-call arguments that arrive in fragments', async () => {
    sim.setScript((chat) =>
      chat.messages.some((message) => message.role === 'tool')
        ? {
            kind: 'text',
            content: `Got ${String(chat.messages[chat.messages.length - 1].content)}`,
          }
        : {
            kind: 'tool_calls',
            calls: [{ name: 'calculator', arguments: { expression: '(1234 + 4321) * 2 - 10' } }],
          },
    );
    const stream = await streamRun('Compute it');
    await stream.ended;
    const final = (await stream.next('run.completed')).json;
    expect(final.output).toBe('Got 11100');
    expect(chatRequests(sim)[0].body).toMatchObject({ stream: true });
    // The simulator sent the arguments in 8-character fragments.
    expect(JSON.stringify({ expression: '(1234 + 4321) * 2 - 10' }).length).toBeGreaterThan(16);
  });

  it('hands on the text as it arrives, not at the end', async () => {
    sim.setOptions({ chunkLatencyMs: 150 });
    const stream = await streamRun('Say hello to everyone in the room', { agent: plainAgentId });
    await stream.ended;
    const deltas = stream.events.filter((event) => event.event === 'message.delta');
    expect(deltas.length).toBeGreaterThan(4);
    const completed = await stream.next('run.completed');
    // The first words were out long before the run ended.
    expect(completed.atMs - deltas[0].atMs).toBeGreaterThan(3 * 150);
    expect(deltas[1].atMs - deltas[0].atMs).toBeGreaterThan(100);
  });

  it('estimates the usage, and flags it, when the stream carries none', async () => {
    sim.setOptions({ omitUsage: true });
    const stream = await streamRun('Hello there', { agent: plainAgentId });
    await stream.ended;
    const step = (await stream.next('step.completed')).json;
    expect(step.usage).toMatchObject({ estimated: true, prompt_tokens: expect.any(Number) });
    expect(step.usage.prompt_tokens).toBeGreaterThan(0);
    const final = (await stream.next('run.completed')).json;
    expect(final.usage).toMatchObject({ estimated: true, total_tokens: step.usage.total_tokens });
  });

  it('is also chosen by Accept: text/event-stream; "stream": false keeps the JSON answer', async () => {
    const headers = { authorization: `Bearer ${tenant.key}`, accept: 'text/event-stream' };
    const stream = await openEventStream(app.url, `/v1/agents/${plainAgentId}/runs`, {
      headers,
      body: { input: 'Hello' },
    });
    await stream.ended;
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(eventNames(stream).at(-1)).toBe('run.completed');

    const blocking = await openEventStream(app.url, `/v1/agents/${plainAgentId}/runs`, {
      headers,
      body: { input: 'Hello', stream: false },
    });
    await blocking.ended;
    expect(blocking.status).toBe(201);
    expect(blocking.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(blocking.text())).toMatchObject({ status: 'success' });
  });

  it.each([
    [
      'an unknown agent',
      () => `/v1/agents/00000000-0000-4000-8000-000000000000/runs`,
      () => ({ input: 'x', stream: true }),
      404,
    ],
    [
      'a body that is not valid',
      () => `/v1/agents/${agentId}/runs`,
      () => ({ input: '', stream: true }),
      400,
    ],
    [
      'stream as text',
      () => `/v1/agents/${agentId}/runs`,
      () => ({ input: 'x', stream: 'yes' }),
      400,
    ],
    [
      'stream and background together',
      () => `/v1/agents/${agentId}/runs`,
      () => ({ input: 'x', stream: true, background: true }),
      400,
    ],
  ])(
    'refuses %s with an ordinary JSON answer before any event',
    async (_case, path, body, status) => {
      const answer = await openEventStream(app.url, path(), {
        headers: { authorization: `Bearer ${tenant.key}`, accept: 'text/event-stream' },
        body: body(),
      });
      await answer.ended;
      expect(answer.status).toBe(status);
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(answer.text())).toMatchObject({
        statusCode: status,
        request_id: expect.any(String),
      });
      expect(answer.events).toEqual([]);
    },
  );

  it('refuses a missing key with 401 JSON', async () => {
    const answer = await openEventStream(app.url, `/v1/agents/${agentId}/runs`, {
      body: { input: 'x', stream: true },
    });
    await answer.ended;
    expect(answer.status).toBe(401);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
  });

  it('retries a proxy failure before the first chunk: the client sees one clean run', async () => {
    sim.setOptions({ failNext: 1, failureStatus: 503 });
    const stream = await streamRun('Hello', {
      agent: plainAgentId,
      headers: { 'x-request-id': 'stream-retry-1' },
    });
    await stream.ended;
    expect(eventNames(stream).filter((name) => name === 'step.started')).toHaveLength(1);
    const final = (await stream.next('run.completed')).json;
    expect(final.status).toBe('success');
    expect(chatRequests(sim)).toHaveLength(2);
    const line = await app.waitForLog(
      (entry) => entry.event === 'llm.request.completed' && entry.request_id === 'stream-retry-1',
    );
    expect(line).toMatchObject({ attempts: 2, stream: true });
  });

  it('ends the step as an error when the proxy fails after the first chunk: run.failed with the 502 body and the run', async () => {
    sim.setOptions({ dropStreamAfterChunks: 3 });
    const stream = await streamRun('Tell me a long story about a lighthouse', {
      agent: plainAgentId,
    });
    await stream.ended;
    const names = eventNames(stream);
    expect(names[0]).toBe('run.created');
    expect(names.filter((name) => name === 'message.delta').length).toBeGreaterThan(0);
    expect(names).not.toContain('step.completed');
    expect(names.at(-1)).toBe('run.failed');
    const failed = (await stream.next('run.failed')).json;
    expect(failed).toMatchObject({
      statusCode: 502,
      error: 'Bad Gateway',
      message: expect.stringContaining('stream broke off'),
      request_id: expect.any(String),
      run: { status: 'error', error_type: 'network' },
    });
    // Not retried: the text already sent cannot be taken back.
    expect(chatRequests(sim)).toHaveLength(1);
    const stored = await request(app.url, 'GET', `/v1/runs/${failed.run.id}`, { key: tenant.key });
    expect(stored.body).toEqual(failed.run);
  });

  it('a client that leaves mid-stream cancels the run: 499 line, the call aborted, its tokens settled', async () => {
    const budgetBefore = (await request(app.url, 'GET', '/v1/budget', { key: tenant.key })).body
      .daily.used;
    sim.setOptions({ chunkLatencyMs: 400 });
    const abortedBefore = sim.abortedChatRequestCount;
    const stream = await streamRun('Tell me a very long story about the sea and its ships', {
      agent: plainAgentId,
      headers: { 'x-request-id': 'stream-left-1' },
    });
    const runId: string = (await stream.next('run.created')).json.id;
    await stream.next('message.delta');
    const leftAt = performance.now();
    stream.close();

    const line = await waitFor(() => accessLines('stream-left-1')[0], { timeoutMs: 5000 });
    expect(line).toMatchObject({ status: 499, aborted: true, route: '/v1/agents/:id/runs' });
    const run = await waitFor(
      async () => {
        const res = await request(app.url, 'GET', `/v1/runs/${runId}`, { key: tenant.key });
        return res.body.status !== 'running' && res.body;
      },
      { timeoutMs: 3000 },
    );
    expect(performance.now() - leftAt).toBeLessThan(3000);
    expect(run).toMatchObject({ status: 'cancelled', error_type: 'client_closed', steps: 0 });
    await waitFor(() => sim.abortedChatRequestCount === abortedBefore + 1, { timeoutMs: 3000 });
    expect(chatRequests(sim)).toHaveLength(1);
    // The cut call is charged its reservation: the proxy may have charged it.
    const budgetAfter = (await request(app.url, 'GET', '/v1/budget', { key: tenant.key })).body
      .daily.used;
    expect(budgetAfter).toBeGreaterThan(budgetBefore);
    expect(accessLines('stream-left-1')).toHaveLength(1);
  });

  it('writes the access line and the HTTP metrics once, when the stream ends, with its whole duration', async () => {
    const { samples: before } = await scrapeMetrics(app.url);
    const countBefore = sampleValue(before, 'http_request_duration_seconds_count', ROUTE) ?? 0;
    const sumBefore = sampleValue(before, 'http_request_duration_seconds_sum', ROUTE) ?? 0;
    const okBefore = sampleValue(before, 'http_requests_total', { ...ROUTE, status: '200' }) ?? 0;
    sim.setOptions({ chunkLatencyMs: 120 });
    const started = performance.now();
    const stream = await streamRun('Say a few words to the team now', {
      agent: plainAgentId,
      headers: { 'x-request-id': 'stream-timed-1' },
    });
    await stream.next('message.delta');
    // Under way: nothing written yet.
    expect(accessLines('stream-timed-1')).toEqual([]);
    await stream.ended;
    const elapsedMs = performance.now() - started;
    expect(elapsedMs).toBeGreaterThan(800);

    const line = await waitFor(() => accessLines('stream-timed-1')[0]);
    expect(line).toMatchObject({ status: 200, route: '/v1/agents/:id/runs' });
    expect(line.aborted).toBeUndefined();
    expect(Number(line.duration_ms)).toBeGreaterThan(elapsedMs - 200);
    const { samples: after } = await scrapeMetrics(app.url);
    expect(sampleValue(after, 'http_request_duration_seconds_count', ROUTE)).toBe(countBefore + 1);
    expect(sampleValue(after, 'http_requests_total', { ...ROUTE, status: '200' })).toBe(
      okBefore + 1,
    );
    expect(
      sampleValue(after, 'http_request_duration_seconds_sum', ROUTE)! - sumBefore,
    ).toBeGreaterThan((elapsedMs - 200) / 1000);
    expect(accessLines('stream-timed-1')).toHaveLength(1);
  });

  it('times the first token: the histogram, and the stream flag and time to first chunk on the chat span', async () => {
    sim.setOptions({ latencyMs: 300 });
    const stream = await streamRun('Hello', { agent: plainAgentId });
    await stream.ended;
    const final = (await stream.next('run.completed')).json;
    const { samples } = await scrapeMetrics(app.url);
    const model = { model: 'sim-small' };
    expect(sampleValue(samples, 'llm_time_to_first_token_seconds_count', model)).toBeGreaterThan(0);
    // This call waited 300 ms for its first chunk: it is in no bucket below 0.32 s.
    const below = sampleValue(samples, 'llm_time_to_first_token_seconds_bucket', {
      ...model,
      le: '0.16',
    });
    const total = sampleValue(samples, 'llm_time_to_first_token_seconds_count', model);
    expect(below).toBeLessThan(total!);

    const traceId: string = final.trace_id;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const spans = await receiver.waitForSpans((all) =>
      all.some((span) => span.traceId === traceId && span.name === 'chat sim-small'),
    );
    const chat = spans.find((span) => span.traceId === traceId && span.name === 'chat sim-small');
    expect(chat?.attributes['gen_ai.request.stream']).toBe(true);
    const ttft = chat?.attributes['gen_ai.response.time_to_first_chunk'] as number;
    expect(ttft).toBeGreaterThanOrEqual(0.29);
    expect(ttft).toBeLessThan(3);
  });
});
