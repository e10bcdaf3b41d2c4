import { createTestDatabase, TestDatabase, withAdminClient } from '../helpers/database';
import { LlmSimulator, startLlmSimulator } from '../helpers/llm-simulator';
import { ScenarioApp, startScenarioApp } from '../helpers/resilience';
import {
  completedRuns,
  lostRuns,
  startSteadyTraffic,
  trafficProblems,
} from '../helpers/steady-traffic';
import { waitFor } from '../helpers/wait-for';

const REQUEST_TIMEOUT_MS = 10_000;
const TERMINATIONS = 10;

/** Kills every server process of the app's database, as a failover or an admin would. */
async function terminateAppConnections(database: string): Promise<number> {
  const result = await withAdminClient((client) =>
    client.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [database],
    ),
  );
  return result.rowCount ?? 0;
}

/**
 * Every PostgreSQL connection of the app is terminated by the server, several
 * times, while runs (which read the agent and write the run twice) are in
 * flight. The pool must drop the dead connections and open new ones.
 */
describe('steady traffic while PostgreSQL terminates the app connections', () => {
  let db: TestDatabase;
  let simulator: LlmSimulator;
  let scenario: ScenarioApp;

  beforeAll(async () => {
    db = await createTestDatabase('res_pg');
    // Some latency keeps runs in flight across a termination.
    simulator = await startLlmSimulator({ latencyMs: 20 });
    scenario = await startScenarioApp({
      DATABASE_URL: db.url,
      LLM_PROXY_URL: simulator.url,
      LLM_TIMEOUT_MS: '2000',
      LLM_MAX_RETRIES: '0',
    });
  });

  afterAll(async () => {
    await scenario?.stop();
    await simulator?.close();
    await db?.drop();
  });

  it('answers every request in time with a clear status, loses no finished run, and recovers by itself', async () => {
    const { app, tenant, agentId } = scenario;
    const traffic = startSteadyTraffic({
      baseUrl: app.url,
      key: tenant.key,
      agentId,
      workers: { run: 4, info: 1, budget: 1 },
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    let terminated = 0;
    try {
      await waitFor(() => traffic.count('run', 201) >= 5, { timeoutMs: 20_000 });
      for (let i = 0; i < TERMINATIONS; i++) {
        terminated += await terminateAppConnections(db.name);
        // Let some runs go through the fresh connections before the next blow.
        const after = traffic.answers.length;
        await waitFor(() => traffic.answers.length >= after + 8, { timeoutMs: 20_000 });
      }
      expect(await scenario.liveness()).toBe('live');
      const sinceLast = traffic.answers.length;
      await waitFor(
        () =>
          traffic.answers
            .slice(sinceLast)
            .some((answer) => answer.kind === 'run' && answer.status === 201),
        { timeoutMs: 20_000 },
      );
    } finally {
      await traffic.stop();
    }

    expect(terminated).toBeGreaterThanOrEqual(TERMINATIONS);
    expect(trafficProblems(traffic.answers)).toEqual([]);
    expect(scenario.exit()).toBeUndefined();
    expect(await scenario.liveness()).toBe('live');
    const runs = completedRuns(traffic.answers);
    expect(runs.length).toBeGreaterThan(5);
    expect(await lostRuns(app.url, tenant.key, runs)).toEqual([]);
    await scenario.waitForSuccessfulRun(10_000);
  });
});
