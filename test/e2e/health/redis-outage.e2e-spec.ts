import { startTestApp, TestApp } from '../../helpers/app';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { getHealth } from '../../helpers/health';
import { RedisServer, startRedisServer } from '../../helpers/redis-server';
import { waitFor } from '../../helpers/wait-for';

const CHECK_TIMEOUT_MS = 300;
// A bound, not a benchmark: ioredis' default client would wait ~10 s through its reconnects.
const ANSWER_WITHIN_MS = CHECK_TIMEOUT_MS + 3000;

describe('health when Redis dies and comes back', () => {
  let db: TestDatabase;
  let redis: RedisServer;
  let app: TestApp;

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase('health_redis'), startRedisServer()]);
    app = await startTestApp({
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      HEALTH_CHECK_TIMEOUT_MS: String(CHECK_TIMEOUT_MS),
    });
  });

  afterAll(async () => {
    await app?.close();
    await Promise.all([db?.drop(), redis?.stop()]);
  });

  it('is ready while Redis answers', async () => {
    const res = await getHealth(app.url, '/health/ready');
    expect(res.status).toBe(200);
    expect(res.body.components.redis?.status).toBe('healthy');
  });

  describe('with the Redis server killed', () => {
    beforeAll(() => redis.kill());

    it('answers /health/ready 503 in time', async () => {
      const res = await waitFor(async () => {
        const answer = await getHealth(app.url, '/health/ready', {
          answerWithinMs: ANSWER_WITHIN_MS,
        });
        return answer.status === 503 && answer;
      });
      expect(res.body.status).toBe('unhealthy');
      expect(res.body.components.redis).toEqual({
        status: 'unhealthy',
        latency_ms: expect.any(Number),
        error: expect.any(String),
      });
      expect(res.body.components.database?.status).toBe('healthy');
    });

    it('reports /health unhealthy with redis down, without its address', async () => {
      const res = await getHealth(app.url, '/health', { answerWithinMs: ANSWER_WITHIN_MS });
      expect(res.status).toBe(503);
      expect(res.body.status).toBe('unhealthy');
      expect(res.body.components.redis?.status).toBe('unhealthy');
      expect(res.text).not.toContain(String(redis.port));
      expect(res.text).not.toContain('redis://');
    });

    it('keeps answering /health/live 200', async () => {
      const res = await getHealth(app.url, '/health/live', { answerWithinMs: ANSWER_WITHIN_MS });
      expect(res.status).toBe(200);
    });
  });

  describe('with the Redis server back on its port', () => {
    beforeAll(() => redis.start());

    it('is healthy again without restarting the app', async () => {
      const res = await waitFor(
        async () => {
          const answer = await getHealth(app.url, '/health', { answerWithinMs: ANSWER_WITHIN_MS });
          return answer.status === 200 && answer;
        },
        { timeoutMs: 15_000, intervalMs: 100 },
      );
      expect(res.body.status).toBe('healthy');
      expect(res.body.components.redis?.status).toBe('healthy');
    });
  });
});
