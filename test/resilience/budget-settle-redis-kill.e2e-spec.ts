import Redis from 'ioredis';
import { TokenBudgetService } from '../../src/platform/budgets';
import { currentWindows } from '../../src/platform/budgets/budget-period';
import { RedisBudgetStore } from '../../src/platform/budgets/redis-budget.store';
import { startTestApp, TestApp } from '../helpers/app';
import { createTestDatabase, TestDatabase } from '../helpers/database';
import { LlmSimulator, startLlmSimulator } from '../helpers/llm-simulator';
import { captureLogs } from '../helpers/log-capture';
import type { LogCapture } from '../helpers/log-capture';
import { createAgent, createTenant, request, runAgent, TEST_ADMIN_KEY } from '../helpers/platform';
import { RedisServer, startRedisServer } from '../helpers/redis-server';
import { waitFor } from '../helpers/wait-for';

const PREFIX = `eaptest:settle-kill:${Date.now()}:`;

/**
 * Redis dies between a model call's reserve and its settle, and comes back
 * with its data (append-only, synced on every write): the settle is not
 * lost, and the reservation does not stay behind holding budget.
 */
describe('a settle the ledger could not take', () => {
  let db: TestDatabase;
  let redis: RedisServer;
  let sim: LlmSimulator;
  let app: TestApp;
  let logs: LogCapture;

  beforeAll(async () => {
    [db, redis, sim] = await Promise.all([
      createTestDatabase('settle_kill'),
      startRedisServer({ persistent: true }),
      startLlmSimulator(),
    ]);
    logs = captureLogs();
    app = await startTestApp(
      {
        DATABASE_URL: db.url,
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: PREFIX,
        LLM_PROXY_URL: sim.url,
        ADMIN_API_KEY: TEST_ADMIN_KEY,
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
      },
      { logDestination: logs.destination },
    );
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([redis?.stop(), sim?.close(), db?.drop()]);
  });

  it('is retried until Redis is back: used ends at the real usage and reserved at 0', async () => {
    const tenant = await createTenant(app.url, { name: 'settle', daily: 100_000 });
    const agent = await createAgent(app.url, tenant.key, { tools: [] });
    sim.setOptions({ hang: true });
    const pending = runAgent(app.url, tenant.key, agent.id, 'Tell me something nice');
    // The reservation is in the ledger once the model has the request.
    await waitFor(() => sim.chatRequestCount >= 1, { timeoutMs: 10_000 });
    await redis.kill();
    sim.setOptions({ hang: false });

    // The model answered: the run is the client's, whatever the ledger's state.
    const run = await pending;
    expect({ status: run.status, body: run.body }).toMatchObject({ status: 201 });
    const budgets = app.app.get(TokenBudgetService);
    expect(budgets.pendingSettles).toBe(1);
    expect(logs.events('budget.settle.deferred')).toEqual([
      expect.objectContaining({
        level: 'warn',
        tenant_id: tenant.id,
        tokens: run.body.usage.total_tokens,
      }),
    ]);

    await redis.start();
    await waitFor(() => budgets.pendingSettles === 0, { timeoutMs: 20_000 });
    expect(logs.events('budget.settle.recovered')).toEqual([
      expect.objectContaining({ tenant_id: tenant.id, tokens: run.body.usage.total_tokens }),
    ]);
    expect(logs.events('budget.settle.lost')).toEqual([]);

    const client: Redis = redis.client();
    const store = new RedisBudgetStore(client, PREFIX);
    expect(await store.read(tenant.id, currentWindows(new Date()), Date.now())).toEqual([
      { used: run.body.usage.total_tokens, reserved: 0 },
      { used: run.body.usage.total_tokens, reserved: 0 },
    ]);
    const budget = await request(app.url, 'GET', '/v1/budget', { key: tenant.key });
    expect(budget.body.daily.used).toBe(run.body.usage.total_tokens);
  });
});
