import { Client } from 'pg';
import { startLlmSimulator } from '../../../tools/llm-simulator';
import type { LlmSimulator } from '../../../tools/llm-simulator';
import { abandonRequest } from '../../helpers/abandon';
import { startTestApp, TestApp } from '../../helpers/app';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import {
  spanNamed,
  startInMemoryTracing,
  type InMemoryTracing,
} from '../../helpers/in-memory-tracing';
import { captureLogs } from '../../helpers/log-capture';
import type { LogCapture } from '../../helpers/log-capture';
import { sampleValue, scrapeMetrics } from '../../helpers/metrics';
import {
  createAgent,
  createTenant,
  request,
  TEST_ADMIN_KEY,
  TestTenant,
} from '../../helpers/platform';
import { waitFor } from '../../helpers/wait-for';

/** A client that gives up is seen in every signal, and its run stops spending. */
describe('a client that gives up', () => {
  let tracing: InMemoryTracing;
  let sim: LlmSimulator;
  let db: TestDatabase;
  let app: TestApp;
  let logs: LogCapture;
  let tenant: TestTenant;
  let agentId: string;

  beforeAll(async () => {
    tracing = startInMemoryTracing({ LOG_LEVEL: 'silent' });
    [sim, db] = await Promise.all([startLlmSimulator(), createTestDatabase('abandon')]);
    logs = captureLogs();
    app = await startTestApp(
      {
        DATABASE_URL: db.url,
        LLM_PROXY_URL: sim.url,
        ADMIN_API_KEY: TEST_ADMIN_KEY,
        ENABLE_TELEMETRY: 'true',
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
      },
      { logDestination: logs.destination },
    );
    tenant = await createTenant(app.url, { name: 'acme' });
    agentId = (await createAgent(app.url, tenant.key, { tools: ['calculator'] })).id;
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([sim?.close(), db?.drop(), tracing?.stop()]);
  });

  const accessLine = (requestId: string) =>
    logs.events('http.request.completed').find((line) => line.request_id === requestId);

  it('while its run works: 499 everywhere, the model call aborted, no further call, the run cancelled', async () => {
    sim.setOptions({ latencyMs: 3000 });
    sim.clearRequests();
    const before = sim.chatRequestCount;
    await abandonRequest(app.url, {
      method: 'POST',
      path: `/v1/agents/${agentId}/runs`,
      headers: {
        authorization: `Bearer ${tenant.key}`,
        'content-type': 'application/json',
        'x-request-id': 'abandoned-run-1',
      },
      body: JSON.stringify({ input: 'What is (2+3)*4?' }),
      afterMs: 1000,
    });

    const line = await waitFor(() => accessLine('abandoned-run-1'), { timeoutMs: 3000 });
    expect(line).toMatchObject({
      level: 'info',
      status: 499,
      aborted: true,
      route: '/v1/agents/:id/runs',
      tenant_id: tenant.id,
    });
    expect(Number(line.duration_ms)).toBeGreaterThanOrEqual(900);
    expect(Number(line.duration_ms)).toBeLessThan(2500);

    // The run is stored cancelled, at once: not after the model would have answered.
    const run = await waitFor(
      async () => {
        const rows = await queryRuns(db.url);
        return rows.length === 1 && rows[0].status !== 'running' && rows[0];
      },
      { timeoutMs: 1500 },
    );
    expect(run).toMatchObject({ status: 'cancelled', steps: 0, error_type: 'client_closed' });

    // No further step: the simulator sees only the call that was in flight, even after it would have answered.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    expect(sim.chatRequestCount - before).toBe(1);

    // The aborted call is charged its full reservation: a client that leaves gets no free tokens.
    const budget = await request(app.url, 'GET', '/v1/budget', { key: tenant.key });
    expect(budget.body.daily.used).toBeGreaterThan(0);

    const { samples } = await scrapeMetrics(app.url);
    const route = { method: 'POST', endpoint: '/v1/agents/:id/runs' };
    expect(sampleValue(samples, 'http_requests_total', { ...route, status: '499' })).toBe(1);
    expect(sampleValue(samples, 'http_request_duration_seconds_count', route)).toBe(1);
    expect(
      sampleValue(samples, 'agent_run_duration_seconds_count', {
        agent_type: 'math_agent',
        status: 'cancelled',
      }),
    ).toBe(1);
    expect(sampleValue(samples, 'active_agent_runs')).toBe(0);

    const spans = await tracing.collectSpans();
    const server = spanNamed(spans, 'POST /v1/agents/:id/runs');
    expect(server.attributes['error.type']).toBe('client_closed');
    const invoke = spans.find((span) => span.name.startsWith('invoke_agent '));
    expect(invoke?.attributes['error.type']).toBe('cancelled');
    expect(logs.events('agent.execute.failed')).toEqual([
      expect.objectContaining({
        level: 'warn',
        status: 'cancelled',
        request_id: 'abandoned-run-1',
      }),
    ]);
    sim.setOptions({ latencyMs: 0 });
  });

  it('while its body is still being read: the 499 line, the metric and the span', async () => {
    tracing.reset();
    await abandonRequest(app.url, {
      method: 'POST',
      path: '/v1/documents',
      headers: {
        authorization: `Bearer ${tenant.key}`,
        'content-type': 'application/json',
        'x-request-id': 'abandoned-body-1',
      },
      body: '{"title":"half a',
      declaredLength: 1000,
      afterMs: 300,
    });
    const line = await waitFor(() => accessLine('abandoned-body-1'), { timeoutMs: 3000 });
    expect(line).toMatchObject({ status: 499, aborted: true, route: '/v1/documents' });
    const { samples } = await scrapeMetrics(app.url);
    expect(
      sampleValue(samples, 'http_requests_total', {
        method: 'POST',
        endpoint: '/v1/documents',
        status: '499',
      }),
    ).toBe(1);
    const server = spanNamed(await tracing.collectSpans(), 'POST /v1/documents');
    expect(server.attributes['error.type']).toBe('client_closed');
  });

  it('writes one line and one sample for an answered request, not a 499', async () => {
    const res = await request(app.url, 'GET', '/v1/info', {
      headers: { 'x-request-id': 'answered-1' },
    });
    expect(res.status).toBe(200);
    const line = await waitFor(() => accessLine('answered-1'));
    expect(line.status).toBe(200);
    expect(line.aborted).toBeUndefined();
    expect(
      logs.events('http.request.completed').filter((l) => l.request_id === 'answered-1'),
    ).toHaveLength(1);
  });
});

async function queryRuns(
  url: string,
): Promise<{ status: string; steps: number; error_type: string | null }[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{
      status: string;
      steps: number;
      error_type: string | null;
    }>('SELECT status, steps, error_type FROM runs');
    return rows;
  } finally {
    await client.end();
  }
}
