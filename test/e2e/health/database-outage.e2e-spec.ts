import { startTestApp, TestApp } from '../../helpers/app';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { getHealth } from '../../helpers/health';
import { LlmSimulator, startLlmSimulator } from '../../helpers/llm-simulator';
import { RedisServer, startRedisServer } from '../../helpers/redis-server';
import { startTcpProxy, TcpProxy } from '../../helpers/tcp-proxy';
import { waitFor } from '../../helpers/wait-for';

const CHECK_TIMEOUT_MS = 300;
// A bound, not a benchmark: a query on a hung server would wait for the driver's 20 s query timeout.
const ANSWER_WITHIN_MS = CHECK_TIMEOUT_MS + 3000;

/**
 * The app starts against a real PostgreSQL (it migrates at start) through a
 * TCP proxy, which the tests then switch to refuse connections or to accept
 * them and never answer.
 */
describe('health when PostgreSQL becomes unreachable', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let app: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase('health_database');
    const target = new URL(db.url);
    proxy = await startTcpProxy(Number(target.port || 5432), target.hostname);
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    app = await startTestApp({
      DATABASE_URL: viaProxy.toString(),
      HEALTH_CHECK_TIMEOUT_MS: String(CHECK_TIMEOUT_MS),
    });
  });

  afterAll(async () => {
    // Refusing drops the proxied connections, so a query stuck in black-hole mode cannot delay the pool's close.
    await proxy?.setMode('refuse');
    await app?.close();
    await proxy?.close();
    await db?.drop();
  });

  async function readyOnceUnhealthy() {
    return waitFor(async () => {
      const answer = await getHealth(app.url, '/health/ready', {
        answerWithinMs: ANSWER_WITHIN_MS,
      });
      return answer.body.components.database?.status === 'unhealthy' && answer;
    });
  }

  it('is ready while the database answers', async () => {
    const res = await getHealth(app.url, '/health/ready');
    expect(res.status).toBe(200);
    expect(res.body.components.database?.status).toBe('healthy');
  });

  describe('when nobody listens on its port', () => {
    beforeAll(() => proxy.setMode('refuse'));

    it('answers /health/ready 503 in time, without the address', async () => {
      const res = await readyOnceUnhealthy();
      expect(res.status).toBe(503);
      expect(res.body.status).toBe('unhealthy');
      expect(res.body.components.database).toEqual({
        status: 'unhealthy',
        latency_ms: expect.any(Number),
        error: expect.any(String),
      });
      expect(res.text).not.toContain(String(proxy.port));
      expect(res.text).not.toContain('postgres');
    });

    it('recovers when it listens again', async () => {
      await proxy.setMode('forward');
      const res = await waitFor(async () => {
        const answer = await getHealth(app.url, '/health/ready', {
          answerWithinMs: ANSWER_WITHIN_MS,
        });
        return answer.status === 200 && answer;
      });
      expect(res.body.components.database?.status).toBe('healthy');
    });
  });

  describe('when it accepts connections but never answers', () => {
    beforeAll(() => proxy.setMode('blackhole'));

    it('answers /health/ready 503 in time, with a timeout', async () => {
      const res = await readyOnceUnhealthy();
      expect(res.status).toBe(503);
      expect(res.body.components.database?.error).toBe(`timed out after ${CHECK_TIMEOUT_MS} ms`);
    });

    it('answers /health 503 in time on repeated probes', async () => {
      for (let i = 0; i < 3; i++) {
        const res = await getHealth(app.url, '/health', { answerWithinMs: ANSWER_WITHIN_MS });
        expect(res.status).toBe(503);
        expect(res.body.components.database?.status).toBe('unhealthy');
      }
    });
  });
});

describe('/health/live when every dependency is down', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let redis: RedisServer;
  let simulator: LlmSimulator;
  let app: TestApp;

  beforeAll(async () => {
    [db, redis, simulator] = await Promise.all([
      createTestDatabase('health_all_down'),
      startRedisServer(),
      startLlmSimulator(),
    ]);
    proxy = await startTcpProxy(Number(new URL(db.url).port || 5432));
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    app = await startTestApp({
      DATABASE_URL: viaProxy.toString(),
      REDIS_URL: redis.url,
      LLM_PROXY_URL: simulator.url,
      HEALTH_CHECK_TIMEOUT_MS: String(CHECK_TIMEOUT_MS),
      HEALTH_DISK_THRESHOLD: '0',
    });
    await Promise.all([proxy.setMode('refuse'), redis.kill(), simulator.close()]);
  });

  afterAll(async () => {
    await app?.close();
    await Promise.all([proxy?.close(), redis?.stop(), db?.drop()]);
  });

  it('reports every component down on /health', async () => {
    const res = await waitFor(async () => {
      const answer = await getHealth(app.url, '/health', { answerWithinMs: ANSWER_WITHIN_MS });
      return Object.values(answer.body.components).every((c) => c.status === 'unhealthy') && answer;
    });
    expect(res.status).toBe(503);
    expect(Object.keys(res.body.components).sort()).toEqual([
      'database',
      'disk',
      'llm_proxy',
      'redis',
    ]);
  });

  it('still answers /health/live 200', async () => {
    const res = await getHealth(app.url, '/health/live', { answerWithinMs: ANSWER_WITHIN_MS });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('healthy');
  });
});
