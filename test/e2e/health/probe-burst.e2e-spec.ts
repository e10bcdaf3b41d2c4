import { DEPENDENCY_CHECK_TTL_MS } from '../../../src/observability/health/health.constants';
import { startTestApp, TestApp } from '../../helpers/app';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { getHealth } from '../../helpers/health';
import { LlmSimulator, startLlmSimulator } from '../../helpers/llm-simulator';
import { RedisServer, startRedisServer } from '../../helpers/redis-server';

describe('a burst of concurrent probes', () => {
  let db: TestDatabase;
  let redis: RedisServer;
  let simulator: LlmSimulator;
  let app: TestApp;

  beforeAll(async () => {
    [db, redis, simulator] = await Promise.all([
      createTestDatabase('health_burst'),
      startRedisServer(),
      startLlmSimulator(),
    ]);
    app = await startTestApp({
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      LLM_PROXY_URL: simulator.url,
    });
  });

  afterAll(async () => {
    await app?.close();
    await Promise.all([db?.drop(), redis?.stop(), simulator?.close()]);
  });

  it('costs one PING and one LLM proxy probe per cache period for 100 simultaneous probes', async () => {
    const stats = redis.client();
    await stats.config('RESETSTAT');
    simulator.clearRequests();
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        getHealth(app.url, i % 2 === 0 ? '/health/ready' : '/health'),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(100).fill(200));
    // On an idle machine the burst fits in one cache period (1 PING); on a loaded one it may
    // straddle a few, and the 15 s background check may land inside it: each costs at most one.
    const allowed = Math.ceil((Date.now() - started) / DEPENDENCY_CHECK_TTL_MS) + 1;
    const pings = Number(/cmdstat_ping:calls=(\d+)/.exec(await stats.info('commandstats'))?.[1]);
    const proxyProbes = simulator.requests.filter((r) => r.path === '/health/liveliness').length;
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(pings).toBeLessThanOrEqual(allowed);
    expect(proxyProbes).toBeGreaterThanOrEqual(1);
    expect(proxyProbes).toBeLessThanOrEqual(allowed);
  });
});
