import { startLlmSimulator } from '../../../tools/llm-simulator';
import type { LlmSimulator } from '../../../tools/llm-simulator';
import { startTestApp, TestApp } from '../../helpers/app';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { createAgent, createTenant, runAgent, TEST_ADMIN_KEY } from '../../helpers/platform';

/** Two model calls of 20 s each: a 40 s run, past the request and headers bounds. */
const MODEL_LATENCY_MS = 20_000;

/**
 * The listener's slow-client bounds at their defaults (10 s head, 30 s
 * request, 72 s keep-alive) end with the request body: a run that works for
 * 40 s answers like any other.
 */
describe('a 40 s run with the default listener timeouts', () => {
  let sim: LlmSimulator;
  let db: TestDatabase;
  let app: TestApp;

  beforeAll(async () => {
    [sim, db] = await Promise.all([
      startLlmSimulator({ latencyMs: MODEL_LATENCY_MS }),
      createTestDatabase('long_run'),
    ]);
    app = await startTestApp({
      DATABASE_URL: db.url,
      LLM_PROXY_URL: sim.url,
      ADMIN_API_KEY: TEST_ADMIN_KEY,
    });
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([sim?.close(), db?.drop()]);
  });

  it('completes with 201 after two slow model calls', async () => {
    expect(app.config.http).toMatchObject({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 72_000,
    });
    const tenant = await createTenant(app.url, { name: 'patient' });
    const agent = await createAgent(app.url, tenant.key, { tools: ['calculator'] });

    const started = performance.now();
    const res = await runAgent(app.url, tenant.key, agent.id, 'What is (2+3)*4?');
    const elapsedMs = performance.now() - started;

    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'success', steps: 2, error: null });
    expect(res.body.output).toContain('20');
    expect(elapsedMs).toBeGreaterThanOrEqual(2 * MODEL_LATENCY_MS);
  }, 60_000);
});
