import { Client } from 'pg';
import { startLlmSimulator } from '../../../tools/llm-simulator';
import type { LlmSimulator } from '../../../tools/llm-simulator';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { sampleValue, scrapeMetrics } from '../../helpers/metrics';
import {
  createAgent,
  createTenant,
  request,
  runAgent,
  TEST_ADMIN_KEY,
} from '../../helpers/platform';
import { ensureAppBuilt, spawnApp, SpawnedApp } from '../../helpers/spawn-app';
import { waitFor } from '../../helpers/wait-for';

const RUN_TIMEOUT_MS = 3000;
/** min(30 s, RUN_TIMEOUT_MS): the margin, and the sweep interval. */
const MARGIN_MS = 3000;

interface StoredRun {
  id: string;
  status: string;
  error_type: string | null;
  age_ms: number;
}

/** A run whose process was killed mid-run is finished by the next process as error / interrupted. */
describe('a run left running by a killed process', () => {
  let db: TestDatabase;
  let sim: LlmSimulator;
  let killed: SpawnedApp | undefined;
  let restarted: SpawnedApp | undefined;

  beforeAll(async () => {
    [db, sim] = await Promise.all([
      createTestDatabase('run_sweeper_e2e'),
      // The model never answers in time: the run is still waiting on it when the process dies.
      startLlmSimulator({ latencyMs: 60_000 }),
      ensureAppBuilt(),
    ]);
  }, 240_000);
  afterAll(async () => {
    await killed?.stop('SIGKILL');
    await restarted?.stop('SIGKILL');
    await Promise.all([sim?.close(), db?.drop()]);
  });

  const start = () =>
    spawnApp({
      DATABASE_URL: db.url,
      LLM_PROXY_URL: sim.url,
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      RUN_TIMEOUT_MS: String(RUN_TIMEOUT_MS),
    });

  it('becomes error / interrupted within RUN_TIMEOUT_MS plus two margins of its start, after a restart', async () => {
    killed = await start();
    const tenant = await createTenant(killed.url, { name: 'crashy' });
    const agent = await createAgent(killed.url, tenant.key, { tools: [] });
    const run = runAgent(killed.url, tenant.key, agent.id, 'Say hello').catch(
      (error: unknown) => error,
    );
    await waitFor(() => sim.chatRequestCount === 1);

    process.kill(killed.pid, 'SIGKILL');
    expect(await killed.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await run).toMatchObject({ message: 'fetch failed' });
    const [left] = await storedRuns(db.url);
    expect(left).toMatchObject({ status: 'running', error_type: null });

    restarted = await start();
    const swept = await waitFor(
      async () => {
        const [row] = await storedRuns(db.url);
        return row.status !== 'running' && row;
      },
      { timeoutMs: RUN_TIMEOUT_MS + 3 * MARGIN_MS + 5000, intervalMs: 100 },
    );
    expect(swept).toMatchObject({ id: left.id, status: 'error', error_type: 'interrupted' });
    // Not before it was stale (RUN_TIMEOUT_MS plus the margin), and by the next sweep after that.
    expect(swept.age_ms).toBeGreaterThanOrEqual(RUN_TIMEOUT_MS + MARGIN_MS);
    expect(swept.age_ms).toBeLessThan(RUN_TIMEOUT_MS + 2 * MARGIN_MS + 2000);

    const stored = await request(restarted.url, 'GET', `/v1/runs/${left.id}`, { key: tenant.key });
    expect(stored.body).toMatchObject({
      status: 'error',
      error_type: 'interrupted',
      error: expect.stringContaining('interrupted'),
    });
    const { samples } = await scrapeMetrics(restarted.url);
    expect(sampleValue(samples, 'agent_runs_interrupted_total')).toBe(1);
    expect(await restarted.waitForLog((line) => line.event === 'run.interrupted')).toMatchObject({
      level: 'warn',
      count: 1,
      run_ids: [left.id],
    });
  }, 60_000);
});

/** The runs, with how long after its start each one was last written (finished_at, else now). */
async function storedRuns(url: string): Promise<StoredRun[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<StoredRun>(
      `SELECT id, status, error_type,
              (extract(epoch FROM coalesce(finished_at, now()) - created_at) * 1000)::int AS age_ms
         FROM runs ORDER BY created_at`,
    );
    return rows;
  } finally {
    await client.end();
  }
}
