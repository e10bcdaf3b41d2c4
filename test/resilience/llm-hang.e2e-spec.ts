import { createTestDatabase, TestDatabase } from '../helpers/database';
import { LlmSimulator, startLlmSimulator } from '../helpers/llm-simulator';
import { ScenarioApp, startScenarioApp } from '../helpers/resilience';
import {
  completedRuns,
  lostRuns,
  RunRecord,
  startSteadyTraffic,
  trafficProblems,
} from '../helpers/steady-traffic';
import { waitFor } from '../helpers/wait-for';

const LLM_TIMEOUT_MS = 1000;
// Two attempts of 1 s plus the backoff between them, per model call: a run gives up well inside this.
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * The LLM proxy (the simulator) accepts chat requests and never answers them,
 * then recovers. The client's per-call timeout and retry limit must turn the
 * hang into a 502 in bounded time, while the endpoints that do not need the
 * model keep answering.
 */
describe('steady traffic while the LLM proxy hangs and recovers', () => {
  let db: TestDatabase;
  let simulator: LlmSimulator;
  let scenario: ScenarioApp;

  beforeAll(async () => {
    db = await createTestDatabase('res_llm');
    simulator = await startLlmSimulator();
    scenario = await startScenarioApp({
      DATABASE_URL: db.url,
      LLM_PROXY_URL: simulator.url,
      LLM_TIMEOUT_MS: String(LLM_TIMEOUT_MS),
      LLM_MAX_RETRIES: '1',
    });
  });

  afterAll(async () => {
    await scenario?.stop();
    // close() drops the connections still held by a hang.
    await simulator?.close();
    await db?.drop();
  });

  it('answers every request in time with a clear status, loses no finished run, and recovers by itself', async () => {
    const { app, tenant, agentId } = scenario;
    const traffic = startSteadyTraffic({
      baseUrl: app.url,
      key: tenant.key,
      agentId,
      // More run workers than usual, so several runs are held by the hang at once.
      workers: { run: 3, info: 1, budget: 1 },
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    let cheapDuringHang = 0;
    try {
      await waitFor(() => traffic.count('run', 201) >= 5, { timeoutMs: 20_000 });

      simulator.setOptions({ hang: true });
      const sinceHang = traffic.answers.length;
      await waitFor(() => traffic.count('run', 502) >= 4, { timeoutMs: 30_000 });
      // While runs wait on the model, the rest of the API is not blocked.
      cheapDuringHang = traffic.answers
        .slice(sinceHang)
        .filter((a) => (a.kind === 'info' || a.kind === 'budget') && a.status === 200).length;
      expect(await scenario.liveness()).toBe('live');

      simulator.setOptions({ hang: false });
      const sinceRecovery = traffic.answers.length;
      await waitFor(
        () =>
          traffic.answers
            .slice(sinceRecovery)
            .some((answer) => answer.kind === 'run' && answer.status === 201),
        { timeoutMs: 20_000 },
      );
    } finally {
      simulator.setOptions({ hang: false });
      await traffic.stop();
    }

    expect(trafficProblems(traffic.answers)).toEqual([]);
    expect(cheapDuringHang).toBeGreaterThan(10);
    const failedRuns = traffic.answers.filter((a) => a.kind === 'run' && a.status === 502);
    for (const answer of failedRuns) {
      // The 502 names the cause and carries the stored run.
      expect(answer.body).toMatchObject({
        message: expect.stringContaining(`did not answer within ${LLM_TIMEOUT_MS} ms`),
        run: { status: 'error' },
      });
    }
    expect(scenario.exit()).toBeUndefined();
    expect(await scenario.liveness()).toBe('live');
    const runs = completedRuns(traffic.answers);
    expect(runs.length).toBeGreaterThan(5);
    expect(await lostRuns(app.url, tenant.key, runs)).toEqual([]);
    // The failed runs are on record too, as `error`.
    const failedOnRecord = failedRuns.map((a) => (a.body as { run: RunRecord }).run);
    expect(await lostRuns(app.url, tenant.key, failedOnRecord)).toEqual([]);
    await scenario.waitForSuccessfulRun(10_000);
  });
});
