import type { Env } from '../../src/config';
import { createAgent, createTenant, runAgent, TEST_ADMIN_KEY, TestTenant } from './platform';
import { AppExit, ensureAppBuilt, spawnApp, SpawnedApp } from './spawn-app';
import { RUN_INPUT } from './steady-traffic';
import { waitFor } from './wait-for';

/** A spawned app with one tenant and one agent, watched for an unexpected exit. */
export interface ScenarioApp {
  readonly app: SpawnedApp;
  readonly tenant: TestTenant;
  readonly agentId: string;
  /** How the process ended, if it did (undefined while it runs). */
  exit(): AppExit | undefined;
  /** GET /health/live, bounded: the process is up and its event loop turns. */
  isLive(): Promise<boolean>;
  /** Polls new runs until one answers 201 (the app recovered without a restart). */
  waitForSuccessfulRun(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Spawns the built app (as production runs it, so a crash is a real exit,
 * not a jest failure) with an admin key, then creates a tenant and an agent
 * with the calculator tool (each run is two model calls and one tool call).
 */
export async function startScenarioApp(env: Env): Promise<ScenarioApp> {
  await ensureAppBuilt();
  const app = await spawnApp({ ADMIN_API_KEY: TEST_ADMIN_KEY, LOG_LEVEL: 'warn', ...env });
  let exit: AppExit | undefined;
  void app.exited.then((ended) => (exit = ended));
  try {
    const tenant = await createTenant(app.url, { name: 'resilience' });
    const agent = await createAgent(app.url, tenant.key, { tools: ['calculator'] });
    return {
      app,
      tenant,
      agentId: agent.id,
      exit: () => exit,
      isLive: async () => {
        try {
          const res = await fetch(`${app.url}/health/live`, { signal: AbortSignal.timeout(5000) });
          return res.status === 200;
        } catch {
          return false;
        }
      },
      waitForSuccessfulRun: async (timeoutMs) => {
        await waitFor(
          async () => {
            const res = await runAgent(app.url, tenant.key, agent.id, RUN_INPUT);
            return res.status === 201;
          },
          { timeoutMs, intervalMs: 200 },
        );
      },
      stop: async () => {
        await app.stop('SIGTERM', 10_000);
      },
    };
  } catch (error) {
    await app.stop('SIGKILL');
    throw error;
  }
}
