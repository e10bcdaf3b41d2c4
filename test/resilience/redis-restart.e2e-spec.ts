import { createTestDatabase, TestDatabase } from '../helpers/database';
import { LlmSimulator, startLlmSimulator } from '../helpers/llm-simulator';
import { RedisServer, startRedisServer } from '../helpers/redis-server';
import { ScenarioApp, startScenarioApp } from '../helpers/resilience';
import {
  completedRuns,
  lostRuns,
  startSteadyTraffic,
  trafficProblems,
} from '../helpers/steady-traffic';
import { waitFor } from '../helpers/wait-for';

// Redis commands are bounded by a 2 s command timeout and fail at once while disconnected.
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * The app keeps its token-budget ledger in the test's own redis-server, which
 * is SIGKILLed mid-traffic (a crash, not a clean shutdown) and started again
 * on the same port.
 */
describe('steady traffic while Redis is killed and restarted', () => {
  let db: TestDatabase;
  let redis: RedisServer;
  let simulator: LlmSimulator;
  let scenario: ScenarioApp;

  beforeAll(async () => {
    db = await createTestDatabase('res_redis');
    redis = await startRedisServer();
    simulator = await startLlmSimulator();
    scenario = await startScenarioApp({
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      LLM_PROXY_URL: simulator.url,
      LLM_TIMEOUT_MS: '2000',
      LLM_MAX_RETRIES: '0',
      HEALTH_CHECK_TIMEOUT_MS: '500',
    });
  });

  afterAll(async () => {
    await scenario?.stop();
    await redis?.stop();
    await simulator?.close();
    await db?.drop();
  });

  it('answers every request in time with a clear status, loses no finished run, and recovers by itself', async () => {
    const { app, tenant, agentId } = scenario;
    const traffic = startSteadyTraffic({
      baseUrl: app.url,
      key: tenant.key,
      agentId,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    try {
      await waitFor(() => traffic.count('run', 201) >= 5, { timeoutMs: 20_000 });

      await redis.kill();
      // The ledger is gone: budget reads and runs must say so (503), not hang or 500.
      await waitFor(() => traffic.count('budget', 503) >= 10 && traffic.count('run', 503) >= 10, {
        timeoutMs: 30_000,
      });
      expect(await scenario.liveness()).toBe('live');

      await redis.start();
      const sinceRestart = traffic.answers.length;
      await waitFor(
        () =>
          traffic.answers
            .slice(sinceRestart)
            .some((answer) => answer.kind === 'run' && answer.status === 201),
        { timeoutMs: 20_000 },
      );
    } finally {
      await traffic.stop();
    }

    expect(trafficProblems(traffic.answers)).toEqual([]);
    expect(scenario.exit()).toBeUndefined();
    expect(await scenario.liveness()).toBe('live');
    const runs = completedRuns(traffic.answers);
    expect(runs.length).toBeGreaterThan(5);
    expect(await lostRuns(app.url, tenant.key, runs)).toEqual([]);
    await scenario.waitForSuccessfulRun(10_000);
  });
});
