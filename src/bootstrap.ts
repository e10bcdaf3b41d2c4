import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import type { AppConfig } from './config';
import { createFrameworkErrorHandler, handleClientError } from './http';
import { registerObservability } from './observability/http-hooks';
import { createNestLogger, createRootLogger } from './observability/logging';
import type { RootLogger } from './observability/logging';

export interface CreateAppOptions {
  /** The root logger; by default one built from config, writing to stdout. Tests pass one writing to memory. */
  readonly logger?: RootLogger;
}

/**
 * Builds the application without listening: main.ts and the e2e tests share
 * it, so tests exercise exactly what production runs.
 */
export async function createApp(
  config: AppConfig,
  options: CreateAppOptions = {},
): Promise<NestFastifyApplication> {
  const logger = options.logger ?? createRootLogger(config);
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    // Request ids are ours (X-Request-ID); Fastify's own counter would only confuse logs.
    genReqId: () => '',
    return503OnClosing: false,
    frameworkErrors: createFrameworkErrorHandler(logger),
    clientErrorHandler: handleClientError,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, logger),
    adapter,
    // Nest's own lines go through pino from the first one: a start-up failure is a JSON line
    // too (with bufferLogs, Nest would flush the buffer to its console logger on failure).
    { logger: createNestLogger(logger), abortOnError: false },
  );
  await registerObservability(app, config);
  // No enableShutdownHooks(): it would close at the first signal, without the readiness drain.
  // main.ts installs enableGracefulShutdown (src/observability/health) instead.
  return app;
}
