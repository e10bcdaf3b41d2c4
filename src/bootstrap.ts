import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import type { AppConfig } from './config';
import { createFrameworkErrorHandler, handleClientError, registerJsonBodyParser } from './http';
import { registerObservability } from './observability/http-hooks';
import { createNestLogger, createRootLogger } from './observability/logging';
import type { RootLogger } from './observability/logging';

/**
 * How often Node checks the headers and request bounds. It enforces both only
 * on this tick (30 s by default), so a client could hold a connection up to
 * 30 s past either bound. A second at most, and a quarter of the headers
 * bound when that is short, keeps both within a fraction of themselves, for
 * a walk over the open connections that costs microseconds.
 */
function connectionsCheckingIntervalMs(config: AppConfig): number {
  return Math.min(1000, Math.floor(config.http.headersTimeoutMs / 4));
}

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
    // Slow clients are cut: the head within headersTimeout, the whole request (head and body)
    // within requestTimeout. Node stops counting once the body is in, so a run that works for
    // minutes is never cut by them. Fastify sets requestTimeout and keepAliveTimeout on the server
    // itself; headersTimeout and the check interval go to http.createServer.
    requestTimeout: config.http.requestTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    http: {
      headersTimeout: config.http.headersTimeoutMs,
      requestTimeout: config.http.requestTimeoutMs,
      connectionsCheckingInterval: connectionsCheckingIntervalMs(config),
    },
    frameworkErrors: createFrameworkErrorHandler(logger),
    clientErrorHandler: handleClientError,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, logger),
    adapter,
    // Nest's own lines go through pino from the first one: a start-up failure is a JSON line
    // too (with bufferLogs, Nest would flush the buffer to its console logger on failure).
    // The body parser is ours (registerJsonBodyParser): JSON only, checked before validation.
    { logger: createNestLogger(logger), abortOnError: false, bodyParser: false },
  );
  registerJsonBodyParser(adapter.getInstance());
  await registerObservability(app, config);
  // No enableShutdownHooks(): it would close at the first signal, without the readiness drain.
  // main.ts installs enableGracefulShutdown (src/observability/health) instead.
  return app;
}
