import { startTestApp, TestApp } from '../../helpers/app';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { getHealth } from '../../helpers/health';
import { LlmSimulator, startLlmSimulator } from '../../helpers/llm-simulator';
import { RedisServer, startRedisServer } from '../../helpers/redis-server';
import { waitFor } from '../../helpers/wait-for';

const CHECK_TIMEOUT_MS = 300;
// A bound, not a benchmark: a probe that waited on a hung dependency would take seconds or forever.
const ANSWER_WITHIN_MS = CHECK_TIMEOUT_MS + 3000;

describe('GET /health, /health/ready, /health/live with every component configured', () => {
  let db: TestDatabase;
  let redis: RedisServer;
  let simulator: LlmSimulator;
  let app: TestApp;

  beforeAll(async () => {
    [db, redis, simulator] = await Promise.all([
      createTestDatabase('health_report'),
      startRedisServer(),
      startLlmSimulator(),
    ]);
    app = await startTestApp({
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      LLM_PROXY_URL: simulator.url,
      HEALTH_CHECK_TIMEOUT_MS: String(CHECK_TIMEOUT_MS),
    });
  });

  afterAll(async () => {
    await app?.close();
    await Promise.all([db?.drop(), redis?.stop(), simulator?.close()]);
  });

  it('answers 200 healthy with every configured component and its latency', async () => {
    const res = await getHealth(app.url, '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'healthy',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      components: {
        database: { status: 'healthy', latency_ms: expect.any(Number) },
        redis: { status: 'healthy', latency_ms: expect.any(Number) },
        llm_proxy: { status: 'healthy', latency_ms: expect.any(Number) },
        disk: { status: 'healthy', latency_ms: expect.any(Number) },
      },
    });
    for (const component of Object.values(res.body.components)) {
      expect(component.latency_ms).toBeGreaterThanOrEqual(0);
    }
  });

  it('checks only the critical components for readiness', async () => {
    const res = await getHealth(app.url, '/health/ready');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('healthy');
    expect(Object.keys(res.body.components).sort()).toEqual(['database', 'redis']);
  });

  it('answers liveness without checking anything', async () => {
    const res = await getHealth(app.url, '/health/live');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'healthy', timestamp: expect.any(String), components: {} });
  });

  it('marks health answers as not cacheable', async () => {
    const res = await fetch(`${app.url}/health/ready`);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  describe('when the LLM proxy hangs', () => {
    beforeAll(() => simulator.setOptions({ hang: true, hangHealth: true }));
    afterAll(() => simulator.setOptions({ hang: false, hangHealth: false }));

    it('reports llm_proxy down and the service degraded, 200, in time', async () => {
      const res = await waitFor(async () => {
        const answer = await getHealth(app.url, '/health', { answerWithinMs: ANSWER_WITHIN_MS });
        return answer.body.components.llm_proxy?.status === 'unhealthy' && answer;
      });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('degraded');
      expect(res.body.components.llm_proxy).toEqual({
        status: 'unhealthy',
        latency_ms: expect.any(Number),
        error: `timed out after ${CHECK_TIMEOUT_MS} ms`,
      });
      expect(res.body.components.database?.status).toBe('healthy');
    });

    it('stays ready: the LLM proxy is not critical', async () => {
      const res = await getHealth(app.url, '/health/ready', { answerWithinMs: ANSWER_WITHIN_MS });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('healthy');
    });
  });

  describe('when the LLM proxy is stopped', () => {
    beforeAll(() => simulator.close());

    it('reports llm_proxy down without its address, and the service degraded', async () => {
      const res = await waitFor(async () => {
        const answer = await getHealth(app.url, '/health', { answerWithinMs: ANSWER_WITHIN_MS });
        return answer.body.components.llm_proxy?.error === 'connection refused' && answer;
      });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('degraded');
      expect(res.text).not.toContain(String(simulator.port));
      expect(res.text).not.toContain('127.0.0.1');
    });
  });
});
