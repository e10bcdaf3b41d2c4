import { randomBytes } from 'node:crypto';
import { startLlmSimulator } from '../../../tools/llm-simulator';
import type { LlmSimulator } from '../../../tools/llm-simulator';
import { abandonRequest } from '../../helpers/abandon';
import { startTestApp, TestApp } from '../../helpers/app';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { captureLogs } from '../../helpers/log-capture';
import type { LogCapture } from '../../helpers/log-capture';
import { sampleValue, scrapeMetrics } from '../../helpers/metrics';
import {
  createAgent,
  createTenant,
  JsonResponse,
  runAgent,
  TEST_ADMIN_KEY,
  TestTenant,
} from '../../helpers/platform';
import { waitFor } from '../../helpers/wait-for';

const REDIS_URL = 'redis://127.0.0.1:6379';
/** Long enough that runs started together are all in flight while the others are answered. */
const SLOW_MODEL_MS = 1500;

interface Runner {
  tenant: TestTenant;
  agentId: string;
}

async function runner(app: TestApp, name: string): Promise<Runner> {
  const tenant = await createTenant(app.url, { name });
  const agent = await createAgent(app.url, tenant.key, { tools: [] });
  return { tenant, agentId: agent.id };
}

function run(app: TestApp, who: Runner): Promise<JsonResponse> {
  return runAgent(app.url, who.tenant.key, who.agentId, 'Hello');
}

function statuses(answers: JsonResponse[]): number[] {
  return answers.map((answer) => answer.status).sort();
}

/** TENANT_MAX_CONCURRENT_RUNS: each tenant's runs in flight are capped, across replicas. */
describe('per-tenant concurrent runs', () => {
  let sim: LlmSimulator;
  let db: TestDatabase;
  let logs: LogCapture;
  let replicaA: TestApp;
  let replicaB: TestApp;

  beforeAll(async () => {
    [sim, db] = await Promise.all([
      startLlmSimulator({ latencyMs: SLOW_MODEL_MS }),
      createTestDatabase('concurrency'),
    ]);
    logs = captureLogs();
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: `eaptest:concurrency:${randomBytes(4).toString('hex')}:`,
      LLM_PROXY_URL: sim.url,
      LLM_MAX_RETRIES: '0',
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      TENANT_MAX_CONCURRENT_RUNS: '2',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
    };
    replicaA = await startTestApp(env, { logDestination: logs.destination });
    replicaB = await startTestApp({ ...env, LOG_LEVEL: 'silent' });
  });
  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.close();
    await Promise.all([sim?.close(), db?.drop()]);
  });

  it('answers 429 with Retry-After past the limit, leaves other tenants alone, and logs and counts it', async () => {
    const busy = await runner(replicaA, 'busy');
    const other = await runner(replicaA, 'other');
    replicaA.resetMetrics();
    logs.clear();

    const done: JsonResponse[] = [];
    const answers = Array.from({ length: 5 }, () =>
      run(replicaA, busy).then((answer) => {
        done.push(answer);
        return answer;
      }),
    );
    // The refusals come at once, while the two admitted runs wait for the slow model.
    const refused = await waitFor(() => done.length === 3 && [...done], {
      timeoutMs: SLOW_MODEL_MS - 200,
    });
    for (const answer of refused) {
      expect(answer.status).toBe(429);
      expect(answer.headers.get('retry-after')).toBe('1');
      expect(answer.body).toMatchObject({
        statusCode: 429,
        error: 'Too Many Requests',
        reason: 'tenant_concurrency',
        limit: 2,
        in_flight: 2,
      });
      expect(answer.body.message).toMatch(/2 of at most 2 .*TENANT_MAX_CONCURRENT_RUNS/);
      expect(answer.body.run).toBeUndefined();
    }
    // Another tenant runs while this one is at its limit.
    expect((await run(replicaA, other)).status).toBe(201);
    expect(statuses(await Promise.all(answers))).toEqual([201, 201, 429, 429, 429]);

    const refusalLines = logs.events('run.refused');
    expect(refusalLines).toHaveLength(3);
    expect(refusalLines[0]).toMatchObject({
      level: 'warn',
      tenant_id: busy.tenant.id,
      reason: 'tenant_concurrency',
      limit: 2,
      in_flight: 2,
    });
    const { samples } = await scrapeMetrics(replicaA.url);
    expect(
      sampleValue(samples, 'agent_runs_refused_total', {
        tenant_id: busy.tenant.id,
        reason: 'tenant_concurrency',
      }),
    ).toBe(3);
    expect(
      sampleValue(samples, 'http_requests_total', {
        method: 'POST',
        endpoint: '/v1/agents/:id/runs',
        status: '429',
      }),
    ).toBe(3);

    // Both slots came back when their runs ended.
    expect(statuses(await Promise.all([run(replicaA, busy), run(replicaA, busy)]))).toEqual([
      201, 201,
    ]);
  });

  it('gives the slot back whatever the outcome: a failed model call, a client that left', async () => {
    const who = await runner(replicaA, 'outcomes');
    sim.setOptions({ failNext: 1, failureStatus: 500 });
    expect((await run(replicaA, who)).status).toBe(502);
    sim.setOptions({ failNext: 0 });
    await abandonRequest(replicaA.url, {
      method: 'POST',
      path: `/v1/agents/${who.agentId}/runs`,
      headers: {
        authorization: `Bearer ${who.tenant.key}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ input: 'Hello' }),
      afterMs: 300,
    });
    // The cancelled run gives its slot back as it stops: two runs at once are admitted again.
    await waitFor(
      () =>
        logs
          .events('agent.execute.failed')
          .some((line) => line.tenant_id === who.tenant.id && line.status === 'cancelled'),
      { timeoutMs: 3000 },
    );
    expect(statuses(await Promise.all([run(replicaA, who), run(replicaA, who)]))).toEqual([
      201, 201,
    ]);
  });

  it('shares one limit between two app instances on the same Redis', async () => {
    const who = await runner(replicaA, 'shared');
    const answers = await Promise.all(
      Array.from({ length: 4 }, (_, i) => run(i % 2 === 0 ? replicaA : replicaB, who)),
    );
    expect(statuses(answers)).toEqual([201, 201, 429, 429]);
  });
});

describe('per-tenant concurrent runs without Redis', () => {
  let sim: LlmSimulator;
  let app: TestApp;

  beforeAll(async () => {
    sim = await startLlmSimulator({ latencyMs: 800 });
    app = await startTestApp({
      LLM_PROXY_URL: sim.url,
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      TENANT_MAX_CONCURRENT_RUNS: '1',
    });
  });
  afterAll(async () => {
    await app?.close();
    await sim?.close();
  });

  it('holds the limit in the process', async () => {
    const who = await runner(app, 'solo');
    const answers = await Promise.all([run(app, who), run(app, who), run(app, who)]);
    expect(statuses(answers)).toEqual([201, 429, 429]);
    expect((await run(app, who)).status).toBe(201);
  });
});
