import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { DestinationStream } from 'pino';
import type { Registry } from 'prom-client';
import { createApp } from '../../src/bootstrap';
import { AppConfig, Env, loadConfig } from '../../src/config';
import { createRootLogger } from '../../src/observability/logging';
import { METRICS_REGISTRY } from '../../src/observability/metrics';

export interface TestApp {
  readonly app: NestFastifyApplication;
  readonly config: AppConfig;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** The app's own metrics registry; undefined with METRICS_ENABLED=false. */
  readonly metricsRegistry: Registry | undefined;
  /** Zeroes every metric of this app (a test counts only what it does itself). */
  resetMetrics(): void;
  close(): Promise<void>;
}

/** Environment every test app starts from: quiet, isolated, no real services unless a test adds them. */
export function testEnv(overrides: Env = {}): Env {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    REDIS_KEY_PREFIX: `eaptest:${randomBytes(4).toString('hex')}:`,
    SHUTDOWN_DRAIN_MS: '0',
    ...overrides,
  };
}

/**
 * Boots the real application (the same createApp as main.ts) on a free port.
 * Without DATABASE_URL it uses a fresh embedded database in a temp dir.
 */
export interface TestAppOptions {
  /** Receives the app's log lines instead of stdout (see captureLogs()); set LOG_LEVEL too. */
  readonly logDestination?: DestinationStream;
}

export async function startTestApp(
  overrides: Env = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const env = testEnv(overrides);
  let dataDir: string | undefined;
  if (!env.DATABASE_URL && !env.DATA_DIR) {
    dataDir = mkdtempSync(join(tmpdir(), 'eap-test-'));
    env.DATA_DIR = dataDir;
  }
  const config = loadConfig(env);
  const logger = options.logDestination
    ? createRootLogger(config, options.logDestination)
    : undefined;
  const app = await createApp(config, { logger });
  await app.listen({ port: config.http.port, host: config.http.host });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  const metricsRegistry = config.metrics.enabled ? app.get<Registry>(METRICS_REGISTRY) : undefined;
  return {
    app,
    config,
    url: `http://127.0.0.1:${port}`,
    metricsRegistry,
    resetMetrics: () => metricsRegistry?.resetMetrics(),
    close: async () => {
      await app.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
