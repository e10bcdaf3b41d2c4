import Redis from 'ioredis';
import { currentWindows } from '../../../src/platform/budgets/budget-period';
import { BUDGET_STORE } from '../../../src/platform/budgets/budget-store';
import type { BudgetStore } from '../../../src/platform/budgets/budget-store';
import type { RedisBudgetStore } from '../../../src/platform/budgets/redis-budget.store';
import { startLlmSimulator } from '../../../tools/llm-simulator';
import type { LlmSimulator } from '../../../tools/llm-simulator';
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
  runAgent,
  TEST_ADMIN_KEY,
  TestTenant,
} from '../../helpers/platform';
import { waitFor } from '../../helpers/wait-for';

const RUN_TIMEOUT_MS = 2000;
/** The model answers well after the run's time is up. */
const MODEL_LATENCY_MS = 5000;

/** A run past RUN_TIMEOUT_MS stops at once: 504, stored as error / run_timeout, nothing left held. */
describe('a run past RUN_TIMEOUT_MS', () => {
  let tracing: InMemoryTracing;
  let sim: LlmSimulator;
  let db: TestDatabase;
  let app: TestApp;
  let logs: LogCapture;
  let tenant: TestTenant;
  let agentId: string;

  beforeAll(async () => {
    tracing = startInMemoryTracing({ LOG_LEVEL: 'silent' });
    [sim, db] = await Promise.all([
      startLlmSimulator({ latencyMs: MODEL_LATENCY_MS }),
      createTestDatabase('run_timeout'),
    ]);
    logs = captureLogs();
    app = await startTestApp(
      {
        DATABASE_URL: db.url,
        REDIS_URL: 'redis://127.0.0.1:6379',
        LLM_PROXY_URL: sim.url,
        ADMIN_API_KEY: TEST_ADMIN_KEY,
        RUN_TIMEOUT_MS: String(RUN_TIMEOUT_MS),
        ENABLE_TELEMETRY: 'true',
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
      },
      { logDestination: logs.destination },
    );
    tenant = await createTenant(app.url, { name: 'slow-model' });
    agentId = (await createAgent(app.url, tenant.key, { tools: ['calculator'] })).id;
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([sim?.close(), db?.drop(), tracing?.stop()]);
  });

  it('answers 504 naming the bound, stores error / run_timeout, aborts the call in flight and releases its reservation', async () => {
    const started = performance.now();
    const res = await runAgent(app.url, tenant.key, agentId, 'What is (2+3)*4?', {
      'x-request-id': 'timed-out-run-1',
    });
    const elapsedMs = performance.now() - started;

    expect(res.status).toBe(504);
    expect(elapsedMs).toBeGreaterThanOrEqual(RUN_TIMEOUT_MS - 50);
    // At once: not when the model would have answered.
    expect(elapsedMs).toBeLessThan(RUN_TIMEOUT_MS + 1500);
    expect(res.body).toMatchObject({
      statusCode: 504,
      error: 'Gateway Timeout',
      message: `The run did not finish within RUN_TIMEOUT_MS (${RUN_TIMEOUT_MS} ms) and was stopped`,
      request_id: 'timed-out-run-1',
      run: { status: 'error', error_type: 'run_timeout', steps: 0, output: null },
    });

    const stored = await request(app.url, 'GET', `/v1/runs/${res.body.run.id}`, {
      key: tenant.key,
    });
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({
      status: 'error',
      error_type: 'run_timeout',
      error: res.body.message,
    });

    // The one call in flight was aborted; no further step started, even once it would have answered.
    await waitFor(() => sim.abortedChatRequestCount === 1, { timeoutMs: 2000 });
    await new Promise((resolve) => setTimeout(resolve, MODEL_LATENCY_MS - RUN_TIMEOUT_MS + 500));
    expect(sim.chatRequestCount).toBe(1);

    // Settled as an aborted call is: nothing stays reserved, and the call costs its reservation.
    const store = app.app.get<BudgetStore>(BUDGET_STORE);
    const now = new Date();
    const ledger = await store.read(tenant.id, currentWindows(now), now.getTime());
    expect(ledger.map((entry) => entry.reserved)).toEqual([0, 0]);
    expect(ledger[0].used).toBeGreaterThan(0);

    const { samples } = await scrapeMetrics(app.url);
    expect(
      sampleValue(samples, 'agent_run_duration_seconds_count', {
        agent_type: 'math_agent',
        status: 'error',
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'llm_requests_total', { model: 'sim-small', status: 'cancelled' }),
    ).toBe(1);
    expect(sampleValue(samples, 'active_agent_runs')).toBe(0);
    expect(
      sampleValue(samples, 'http_requests_total', {
        method: 'POST',
        endpoint: '/v1/agents/:id/runs',
        status: '504',
      }),
    ).toBe(1);

    const spans = await tracing.collectSpans();
    const invoke = spans.find((span) => span.name.startsWith('invoke_agent '));
    expect(invoke?.attributes['error.type']).toBe('run_timeout');
    expect(spanNamed(spans, 'POST /v1/agents/:id/runs').attributes['error.type']).toBe('504');
    expect(logs.events('agent.execute.failed')).toEqual([
      expect.objectContaining({
        level: 'warn',
        status: 'error',
        error_type: 'run_timeout',
        request_id: 'timed-out-run-1',
      }),
    ]);
  });

  it("gives the call's reservation an expiry within the run's deadline, not the call's worst case", async () => {
    const store = app.app.get<RedisBudgetStore>(BUDGET_STORE);
    const redis = new Redis('redis://127.0.0.1:6379');
    try {
      const callsBefore = sim.chatRequestCount;
      const reservedAt = Date.now();
      const pending = runAgent(app.url, tenant.key, agentId, 'What is 1+1?');
      await waitFor(() => sim.chatRequestCount > callsBefore, { timeoutMs: 5000 });
      const [, due] = store.reservationKeys(tenant.id);
      // Settled records of the earlier runs are due hours later, when they are forgotten.
      const live = await redis.zrange(
        due,
        reservedAt,
        reservedAt + 3_600_000,
        'BYSCORE',
        'WITHSCORES',
      );
      // Three 60 s attempts and their backoff would be over 200 s; the run ends after 2 s.
      const dueAt = Math.max(...live.filter((_, i) => i % 2 === 1).map(Number));
      expect(dueAt - reservedAt).toBeLessThanOrEqual(RUN_TIMEOUT_MS + 30_000 + 1000);
      expect(dueAt - reservedAt).toBeGreaterThanOrEqual(RUN_TIMEOUT_MS + 30_000 - 1000);
      expect((await pending).status).toBe(504);
    } finally {
      redis.disconnect();
    }
  });

  it('leaves a run that ends in time alone', async () => {
    sim.setOptions({ latencyMs: 0 });
    const res = await runAgent(app.url, tenant.key, agentId, 'What is (2+3)*4?');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'success', error_type: null, steps: 2 });
  });
});
