import { startLlmSimulator } from '../../../tools/llm-simulator';
import type { LlmSimulator } from '../../../tools/llm-simulator';
import { startTestApp, TestApp } from '../../helpers/app';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import {
  createAgent,
  createTenant,
  request,
  runAgent,
  TEST_ADMIN_KEY,
} from '../../helpers/platform';
import { startRedisServer, RedisServer } from '../../helpers/redis-server';
import { waitFor } from '../../helpers/wait-for';

describe('token budgets across replicas and Redis failures', () => {
  let db: TestDatabase;
  let sim: LlmSimulator;
  let redis: RedisServer;
  let replicaA: TestApp;
  let replicaB: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase('budgets');
    sim = await startLlmSimulator();
    redis = await startRedisServer();
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `eaptest:budgets:${Date.now()}:`,
      LLM_PROXY_URL: sim.url,
      ADMIN_API_KEY: TEST_ADMIN_KEY,
    };
    replicaA = await startTestApp(env);
    replicaB = await startTestApp(env);
  });

  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.close();
    await redis?.stop();
    await sim?.close();
    await db?.drop();
  });

  it('enforces one shared budget across two app instances', async () => {
    const tenant = await createTenant(replicaA.url, {
      name: 'shared',
      daily: 900,
      monthly: 1_000_000,
    });
    const agent = await createAgent(replicaA.url, tenant.key, { tools: [] });
    const statuses: number[] = [];
    let used = 0;
    // Alternate replicas until the shared ledger refuses.
    for (let i = 0; i < 60 && !statuses.includes(429); i++) {
      const replica = i % 2 === 0 ? replicaA : replicaB;
      const res = await runAgent(replica.url, tenant.key, agent.id, 'Tell me something nice');
      statuses.push(res.status);
      if (res.status === 201) used += res.body.usage.total_tokens;
    }
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(2);
    // Both replicas read the same numbers: the ledger holds every success, whichever replica ran it.
    const [fromA, fromB] = await Promise.all([
      request(replicaA.url, 'GET', '/v1/budget', { key: tenant.key }),
      request(replicaB.url, 'GET', '/v1/budget', { key: tenant.key }),
    ]);
    expect(fromA.body.daily.used).toBe(used);
    expect(fromB.body).toEqual(fromA.body);
    expect(used).toBeLessThanOrEqual(900);
  });

  it('answers 503 while Redis is down (never unlimited) and recovers without a restart', async () => {
    const tenant = await createTenant(replicaA.url, { name: 'redis-outage' });
    const agent = await createAgent(replicaA.url, tenant.key, { tools: [] });
    expect((await runAgent(replicaA.url, tenant.key, agent.id, 'Hello')).status).toBe(201);

    await redis.kill();
    const during = await runAgent(replicaA.url, tenant.key, agent.id, 'Hello');
    expect(during.status).toBe(503);
    // The run's concurrency slot is taken in Redis first: refused before it starts, so not stored.
    expect(during.body.message).toMatch(/run concurrency ledger is unavailable/);
    expect(during.body.run).toBeUndefined();
    const budget = await request(replicaA.url, 'GET', '/v1/budget', { key: tenant.key });
    expect(budget.status).toBe(503);

    await redis.start();
    const after = await waitFor(
      async () => {
        const res = await runAgent(replicaA.url, tenant.key, agent.id, 'Hello');
        return res.status === 201 ? res : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(after.body.status).toBe('success');
  });
});

describe('runs without an LLM proxy', () => {
  let db: TestDatabase;
  let app: TestApp;
  beforeAll(async () => {
    db = await createTestDatabase('noproxy');
    app = await startTestApp({ DATABASE_URL: db.url, ADMIN_API_KEY: TEST_ADMIN_KEY });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('answers 503 naming LLM_PROXY_URL', async () => {
    const tenant = await createTenant(app.url);
    const agent = await createAgent(app.url, tenant.key);
    const res = await runAgent(app.url, tenant.key, agent.id, 'What is 1+1?');
    expect(res.status).toBe(503);
    expect(res.body.message).toContain('LLM_PROXY_URL');
  });

  it('keeps the admin API off without ADMIN_API_KEY', async () => {
    const plain = await startTestApp({ DATABASE_URL: db.url });
    try {
      const res = await request(plain.url, 'POST', '/v1/tenants', {
        key: 'anything',
        body: { name: 'x', daily_token_limit: 1, monthly_token_limit: 1 },
      });
      expect(res.status).toBe(403);
      expect(res.body.message).toContain('ADMIN_API_KEY');
    } finally {
      await plain.close();
    }
  });
});
