import type { Env } from '../../src/config';
import { createAgent, createTenant, runAgent, TEST_ADMIN_KEY, TestTenant } from './platform';
import { join } from 'node:path';
import { AppExit, ensureAppBuilt, spawnApp, SpawnedApp } from './spawn-app';
import { RUN_INPUT } from './steady-traffic';
import { waitFor } from './wait-for';

const GC_PROBE = join(__dirname, 'gc-probe.preload.js');

/** A spawned app with one tenant and one agent, watched for an unexpected exit. */
export interface ScenarioApp {
  readonly app: SpawnedApp;
  readonly tenant: TestTenant;
  readonly agentId: string;
  /** How the process ended, if it did (undefined while it runs). */
  exit(): AppExit | undefined;
  /**
   * GET /health/live, bounded: 'live' when it answers 200 (the process is up
   * and its event loop turns), else what happened, for the failure message.
   */
  liveness(): Promise<string>;
  /**
   * Live heap after a full GC, in bytes (needs `gcProbe: true`): retained
   * memory, without the garbage a plain heapUsed reading includes.
   */
  heapAfterGc(): Promise<number>;
  /** Polls new runs until one answers 201 (the app recovered without a restart). */
  waitForSuccessfulRun(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Spawns the built app (as production runs it, so a crash is a real exit,
 * not a jest failure) with an admin key, then creates a tenant and an agent
 * with the calculator tool (each run is two model calls and one tool call).
 */
export async function startScenarioApp(
  env: Env,
  options: { gcProbe?: boolean } = {},
): Promise<ScenarioApp> {
  await ensureAppBuilt();
  const app = await spawnApp(
    { ADMIN_API_KEY: TEST_ADMIN_KEY, LOG_LEVEL: 'warn', ...env },
    { nodeArgs: options.gcProbe ? ['--expose-gc', '--require', GC_PROBE] : [] },
  );
  let probes = 0;
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
      liveness: async () => {
        try {
          const res = await fetch(`${app.url}/health/live`, { signal: AbortSignal.timeout(5000) });
          const text = await res.text();
          return res.status === 200 ? 'live' : `${res.status} ${text.slice(0, 300)}`;
        } catch (error) {
          const exited = exit
            ? ` (exited: ${JSON.stringify(exit)}; last output:\n${app.logs.slice(-45).join('\n')})`
            : '';
          return `${(error as Error).message}${exited}`;
        }
      },
      heapAfterGc: async () => {
        const probe = ++probes;
        process.kill(app.pid, 'SIGUSR2');
        const line = await app.waitForLog(
          (entry) => entry.event === 'test.gc_probe' && entry.probe === probe,
        );
        return line.heap_used as number;
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
