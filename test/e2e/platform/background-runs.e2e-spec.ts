import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { startLlmSimulator } from '../../../tools/llm-simulator';
import type { LlmSimulator } from '../../../tools/llm-simulator';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { chatRequests } from '../../helpers/llm-simulator';
import { sampleValue, scrapeMetrics } from '../../helpers/metrics';
import {
  createAgent,
  createTenant,
  request,
  runAgent,
  TEST_ADMIN_KEY,
  TestTenant,
} from '../../helpers/platform';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server';
import { ensureAppBuilt, spawnApp, type SpawnedApp } from '../../helpers/spawn-app';
import { openEventStream } from '../../helpers/sse';
import { waitFor } from '../../helpers/wait-for';

/** Long enough that a run is surely in its model call when the test acts. */
const SLOW_MODEL_MS = 8000;

/**
 * Background runs and POST /v1/runs/:id/cancel on two replicas of the built
 * app sharing PostgreSQL and a Redis of the test's own (so it can be killed),
 * against the LLM simulator.
 */
describe('background runs and cancellation (two replicas of the built app)', () => {
  let redis: RedisServer;
  let sim: LlmSimulator;
  let db: TestDatabase;
  let replicaA: SpawnedApp;
  let replicaB: SpawnedApp;
  let tenant: TestTenant;
  let other: TestTenant;
  let agentId: string;

  beforeAll(async () => {
    await ensureAppBuilt();
    [redis, sim, db] = await Promise.all([
      startRedisServer(),
      startLlmSimulator(),
      createTestDatabase('background_runs'),
    ]);
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `eaptest:${randomBytes(4).toString('hex')}:`,
      LLM_PROXY_URL: sim.url,
      LLM_MAX_RETRIES: '0',
      LLM_TIMEOUT_MS: '20000',
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      TENANT_MAX_CONCURRENT_RUNS: '2',
    };
    replicaA = await spawnApp(env);
    replicaB = await spawnApp(env);
    tenant = await createTenant(replicaA.url, { name: 'background' });
    other = await createTenant(replicaA.url, { name: 'someone-else' });
    agentId = (await createAgent(replicaA.url, tenant.key, { tools: ['calculator'] })).id;
  }, 300_000);

  afterAll(async () => {
    sim?.setOptions({ latencyMs: 0 });
    await Promise.all([replicaA?.stop(), replicaB?.stop()]);
    await Promise.all([sim?.close(), db?.drop(), redis?.stop()]);
  });

  beforeEach(() => {
    sim.setOptions({ latencyMs: 0, chunkLatencyMs: 0 });
    sim.clearRequests();
  });

  function startBackground(app: SpawnedApp, input = 'What is (2+3)*4?') {
    return request(app.url, 'POST', `/v1/agents/${agentId}/runs`, {
      key: tenant.key,
      body: { input, background: true },
    });
  }

  function getRun(app: SpawnedApp, id: string, key = tenant.key) {
    return request(app.url, 'GET', `/v1/runs/${id}`, { key });
  }

  function cancel(app: SpawnedApp, id: string, key = tenant.key) {
    return request(app.url, 'POST', `/v1/runs/${id}/cancel`, { key });
  }

  /** Waits until the simulator holds one more chat request than `before`: the run is in its model call. */
  async function inModelCall(before: number): Promise<void> {
    await waitFor(() => sim.chatRequestCount > before, { timeoutMs: 5000 });
  }

  it('answers 202 with the running run and its Location at once; the run goes on and is polled to its end', async () => {
    sim.setOptions({ latencyMs: 600 });
    const started = performance.now();
    const res = await startBackground(replicaA);
    expect(performance.now() - started).toBeLessThan(500);
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/v1/runs/${res.body.id}`);
    expect(res.body).toMatchObject({
      agent_id: agentId,
      status: 'running',
      output: null,
      steps: 0,
      error: null,
    });
    const id: string = res.body.id;
    // Either replica reads it while it runs...
    expect((await getRun(replicaB, id)).body.status).toBe('running');
    // ...and after: the calculator step, then the answer.
    const done = await waitFor(
      async () => {
        const run = (await getRun(replicaB, id)).body;
        return run.status !== 'running' && run;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(done).toMatchObject({ id, status: 'success', output: 'The result is 20.', steps: 2 });
    expect(chatRequests(sim)).toHaveLength(2);
    // Never streamed from the proxy: nobody watches the text.
    expect(chatRequests(sim)[0].body).not.toHaveProperty('stream');
  });

  it('cancels a background run in its model call: the call aborted, the run cancelled, its tokens settled; 409 after', async () => {
    const usedBefore = (await request(replicaA.url, 'GET', '/v1/budget', { key: tenant.key })).body
      .daily.used;
    sim.setOptions({ latencyMs: SLOW_MODEL_MS });
    const callsBefore = sim.chatRequestCount;
    const abortedBefore = sim.abortedChatRequestCount;
    const id: string = (await startBackground(replicaA)).body.id;
    await inModelCall(callsBefore);

    const started = performance.now();
    const res = await cancel(replicaA, id);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id,
      status: 'cancelled',
      error_type: 'cancelled_by_request',
      error: 'The run was cancelled by POST /v1/runs/:id/cancel',
      steps: 0,
    });
    expect((await getRun(replicaA, id)).body).toEqual(res.body);
    await waitFor(() => sim.abortedChatRequestCount === abortedBefore + 1, { timeoutMs: 3000 });
    expect(sim.chatRequestCount).toBe(callsBefore + 1);
    const usedAfter = (await request(replicaA.url, 'GET', '/v1/budget', { key: tenant.key })).body
      .daily.used;
    expect(usedAfter).toBeGreaterThan(usedBefore);

    const again = await cancel(replicaB, id);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      statusCode: 409,
      message: `Run ${id} has already ended (cancelled)`,
      run: { id, status: 'cancelled' },
    });
    const line = await replicaA.waitForLog(
      (entry) => entry.event === 'run.cancel.requested' && entry.run_id === id,
    );
    expect(line).toMatchObject({ level: 'info', delivery: 'local', tenant_id: tenant.id });
    const { samples } = await scrapeMetrics(replicaA.url);
    expect(
      sampleValue(samples, 'agent_run_duration_seconds_count', {
        agent_type: 'math_agent',
        status: 'cancelled',
      }),
    ).toBe(1);
  });

  it('cancels a run on another replica: the request travels through Redis', async () => {
    sim.setOptions({ latencyMs: SLOW_MODEL_MS });
    const callsBefore = sim.chatRequestCount;
    const id: string = (await startBackground(replicaA)).body.id;
    await inModelCall(callsBefore);

    const started = performance.now();
    const res = await cancel(replicaB, id);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, status: 'cancelled', error_type: 'cancelled_by_request' });
    const published = await replicaB.waitForLog(
      (entry) => entry.event === 'run.cancel.requested' && entry.run_id === id,
    );
    expect(published.delivery).toBe('published');
    expect(
      replicaA
        .jsonLogs()
        .some((entry) => entry.event === 'agent.execute.failed' && entry.status === 'cancelled'),
    ).toBe(true);
  });

  it("answers 404 for another tenant's run and an unknown one, 409 for a run that has ended", async () => {
    const finished = await runAgent(replicaA.url, tenant.key, agentId, 'What is 1+1?');
    expect(finished.status).toBe(201);
    const id: string = finished.body.id;
    expect((await cancel(replicaA, id, other.key)).status).toBe(404);
    expect((await cancel(replicaA, '00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await cancel(replicaA, 'not-a-run')).status).toBe(404);
    const ended = await cancel(replicaA, id);
    expect(ended.status).toBe(409);
    expect(ended.body.run).toEqual((await getRun(replicaA, id)).body);
  });

  it('cancels a streamed run: run.failed with 409 and the cancelled run', async () => {
    sim.setOptions({ chunkLatencyMs: 1000 });
    const stream = await openEventStream(replicaB.url, `/v1/agents/${agentId}/runs`, {
      headers: { authorization: `Bearer ${tenant.key}` },
      body: { input: 'Tell me a long story about the mountains', stream: true },
    });
    const id: string = (await stream.next('run.created')).json.id;
    await stream.next('step.started');
    const res = await cancel(replicaA, id);
    expect(res.status).toBe(200);
    const failed = (await stream.next('run.failed')).json;
    await stream.ended;
    expect(failed).toMatchObject({
      statusCode: 409,
      message: 'The run was cancelled by POST /v1/runs/:id/cancel',
      run: { id, status: 'cancelled', error_type: 'cancelled_by_request' },
    });
    expect(failed.run).toEqual(res.body);
  });

  it('cancels a blocking run: its client gets 409 with the cancelled run', async () => {
    sim.setOptions({ latencyMs: SLOW_MODEL_MS });
    const callsBefore = sim.chatRequestCount;
    const pending = runAgent(replicaA.url, tenant.key, agentId, 'What is 9*9?');
    await inModelCall(callsBefore);
    const running = await waitFor(async () => (await runningRunIds())[0]);
    expect((await cancel(replicaB, running)).status).toBe(200);
    const answer = await pending;
    expect(answer.status).toBe(409);
    expect(answer.body.run).toMatchObject({ id: running, status: 'cancelled' });
  });

  it("holds its tenant's slot while it runs: past TENANT_MAX_CONCURRENT_RUNS a background run is refused with 429 JSON", async () => {
    sim.setOptions({ latencyMs: SLOW_MODEL_MS });
    const first = await startBackground(replicaA);
    const second = await startBackground(replicaB);
    expect([first.status, second.status]).toEqual([202, 202]);
    const refused = await startBackground(replicaA);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body).toMatchObject({ reason: 'tenant_concurrency', limit: 2, in_flight: 2 });
    expect((await cancel(replicaB, first.body.id)).status).toBe(200);
    expect((await cancel(replicaA, second.body.id)).status).toBe(200);
    // Both slots are back.
    sim.setOptions({ latencyMs: 0 });
    expect((await startBackground(replicaA)).status).toBe(202);
    await waitFor(async () => (await runningRunIds()).length === 0, { timeoutMs: 5000 });
  });

  it('answers 503 when the run is on another replica and Redis cannot carry the request', async () => {
    sim.setOptions({ latencyMs: 3000 });
    const callsBefore = sim.chatRequestCount;
    const id: string = (await startBackground(replicaA)).body.id;
    await inModelCall(callsBefore);
    await redis.kill();
    try {
      const res = await cancel(replicaB, id);
      expect(res.status).toBe(503);
      expect(res.body.message).toMatch(/could not be told to stop/);
    } finally {
      await redis.start();
    }
    // Not cancelled: it ends as it would have.
    const done = await waitFor(
      async () => {
        const run = (await getRun(replicaA, id)).body;
        return run.status !== 'running' && run;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(done.status).toBe('success');
  });

  it('survives its client, not its process: a cancel nobody can confirm answers 202 with the run as it stands', async () => {
    sim.setOptions({ latencyMs: SLOW_MODEL_MS });
    const callsBefore = sim.chatRequestCount;
    const id: string = (await startBackground(replicaA)).body.id;
    await inModelCall(callsBefore);
    await replicaA.stop('SIGKILL');
    // B may need a moment to get its Redis subscription back after the restart above.
    await waitFor(
      async () => (await request(replicaB.url, 'GET', '/health/ready')).status === 200,
      {
        timeoutMs: 10_000,
      },
    );
    const res = await cancel(replicaB, id);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id, status: 'running' });
  });

  it('is waited for at shutdown: SIGTERM lets a background run finish and store its end, then exits 0', async () => {
    sim.setOptions({ latencyMs: 1500 });
    const callsBefore = sim.chatRequestCount;
    const id: string = (await startBackground(replicaB, 'Hello there')).body.id;
    await inModelCall(callsBefore);
    const exit = await replicaB.stop('SIGTERM', 20_000);
    expect(exit).toEqual({ code: 0, signal: null });
    const rows = await runRow(id);
    expect(rows).toMatchObject({ status: 'success' });
  });

  /** Ids of the tenant's runs still `running`, straight from the database. */
  async function runningRunIds(): Promise<string[]> {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ id: string }>(
        "SELECT id FROM runs WHERE status = 'running' AND tenant_id = $1",
        [tenant.id],
      );
      return rows.map((row) => row.id);
    } finally {
      await client.end();
    }
  }

  async function runRow(id: string): Promise<{ status: string } | undefined> {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ status: string }>(
        'SELECT status FROM runs WHERE id = $1',
        [id],
      );
      return rows[0];
    } finally {
      await client.end();
    }
  }
});
