import { Client } from 'pg';
import { ensureAppBuilt, spawnApp, SpawnedApp } from '../../helpers/spawn-app';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { getHealth } from '../../helpers/health';
import { LlmSimulator, startLlmSimulator } from '../../helpers/llm-simulator';
import { sampleValue, scrapeMetrics } from '../../helpers/metrics';
import { createAgent, createTenant, runAgent, TEST_ADMIN_KEY } from '../../helpers/platform';
import { trickleRequest } from '../../helpers/raw-http';
import { waitFor } from '../../helpers/wait-for';

const DRAIN_MS = 2000;
// Each model call takes this long: SIGTERM arrives while the run is waiting on the first one.
const LLM_LATENCY_MS = 1500;

describe('graceful shutdown of the built app', () => {
  let db: TestDatabase;
  let simulator: LlmSimulator;
  let app: SpawnedApp | undefined;

  beforeAll(async () => {
    [db, simulator] = await Promise.all([
      createTestDatabase('health_shutdown'),
      startLlmSimulator({ latencyMs: LLM_LATENCY_MS }),
      ensureAppBuilt(),
    ]);
  }, 180_000);

  afterEach(() => app?.stop('SIGKILL'));

  afterAll(async () => {
    await simulator?.close();
    await db?.drop();
  });

  function start(env: Record<string, string> = {}): Promise<SpawnedApp> {
    return spawnApp({
      NODE_ENV: 'production',
      DATABASE_URL: db.url,
      LLM_PROXY_URL: simulator.url,
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      SHUTDOWN_DRAIN_MS: String(DRAIN_MS),
      ...env,
    });
  }

  it('on SIGTERM turns readiness 503, finishes the agent run in flight, stores it and exits 0', async () => {
    app = await start();
    const { url } = app;
    const tenant = await createTenant(url);
    const agent = await createAgent(url, tenant.key);
    const calls = simulator.chatRequestCount;
    const run = runAgent(url, tenant.key, agent.id, 'What is 6 * 7?');
    await waitFor(() => simulator.chatRequestCount > calls);

    app.signal('SIGTERM');

    const ready = await waitFor(async () => {
      const answer = await getHealth(url, '/health/ready');
      return answer.status === 503 && answer;
    });
    expect(ready.body).toMatchObject({ status: 'unhealthy', draining: true });
    expect((await getHealth(url, '/health/live')).status).toBe(200);

    const finished = await run;
    expect(finished.status).toBe(201);
    expect(finished.body.status).toBe('success');
    expect(await app.exited).toEqual({ code: 0, signal: null });

    const stored = await withDatabase(db.url, (client) =>
      client.query<{ status: string }>('SELECT status FROM runs WHERE id = $1', [finished.body.id]),
    );
    expect(stored.rows).toEqual([{ status: 'success' }]);
    const phases = app
      .jsonLogs()
      .filter((line) => line.event === 'app.shutdown')
      .map((l) => l.phase);
    expect(phases).toEqual(['draining', 'closing', 'closed']);
  });

  it('forces the exit RUN_TIMEOUT_MS after the drain while a request still holds the close', async () => {
    const runTimeoutMs = 2000;
    app = await start({
      SHUTDOWN_DRAIN_MS: '0',
      RUN_TIMEOUT_MS: String(runTimeoutMs),
      // A body that trickles in for longer than the close may wait: only the bound ends it.
      HTTP_REQUEST_TIMEOUT_MS: '60000',
    });
    const { url, port } = app;
    const slow = trickleRequest(port, {
      first:
        'POST /v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        'Content-Length: 100000\r\n\r\n{"title":"',
      pieces: ['a'],
      everyMs: 200,
      giveUpMs: 30_000,
    });
    // The slow request and this scrape's own connection.
    await waitFor(
      async () => (sampleValue((await scrapeMetrics(url)).samples, 'active_connections') ?? 0) >= 2,
    );

    const signalled = performance.now();
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 1, signal: null });
    const elapsedMs = performance.now() - signalled;
    expect(elapsedMs).toBeGreaterThanOrEqual(runTimeoutMs - 100);
    expect(elapsedMs).toBeLessThan(runTimeoutMs + 3000);
    expect(app.jsonLogs()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ event: 'app.shutdown', phase: 'draining', close_bound_ms: 2000 }),
        expect.objectContaining({
          event: 'app.shutdown',
          phase: 'forced',
          reason: 'timeout',
          bound_ms: runTimeoutMs,
        }),
      ]),
    );
    await slow;
  });

  it('exits 1 at once on a second signal during the drain', async () => {
    app = await start({ SHUTDOWN_DRAIN_MS: '600000' });
    app.signal('SIGTERM');
    await waitFor(async () => (await getHealth(app!.url, '/health/ready')).status === 503);
    app.signal('SIGINT');
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.jsonLogs()).toContainEqual(
      expect.objectContaining({ event: 'app.shutdown', phase: 'forced', reason: 'second signal' }),
    );
  });
});

async function withDatabase<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
