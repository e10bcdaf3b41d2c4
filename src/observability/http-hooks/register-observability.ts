import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AppConfig } from '../../config';
import { requestContextPlugin } from '../context';
import { connectionClosePlugin, ShutdownState } from '../health';
import { accessLogPlugin, ROOT_LOGGER } from '../logging';
import type { RootLogger } from '../logging';
import { HttpMetricsRecorder, httpMetricsPlugin, ScrapeSources } from '../metrics';
import { httpServerTracingPlugin } from '../telemetry';

/**
 * Every Fastify hook of the observability layer, as named plugins whose
 * `dependencies` declare their order: the request context first (everything
 * reads it), the access log, the server span, the HTTP metrics (their
 * exemplars read the span), then how connections close (the refused-body
 * linger, then the drain, in one hook). Call after the application is created and before
 * it listens: Nest registers its routes on listen, and hooks cover the routes
 * registered after them.
 */
export async function registerObservability(
  app: NestFastifyApplication,
  config: AppConfig,
): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  await fastify.register(requestContextPlugin);
  await fastify.register(accessLogPlugin, { logger: app.get<RootLogger>(ROOT_LOGGER) });
  await fastify.register(httpServerTracingPlugin);
  if (config.metrics.enabled) {
    await fastify.register(httpMetricsPlugin, {
      recorder: app.get<HttpMetricsRecorder>(HttpMetricsRecorder),
      sources: app.get<ScrapeSources>(ScrapeSources),
      exemplars: config.telemetry.enabled,
    });
  }
  await fastify.register(connectionClosePlugin, {
    shutdown: app.get<ShutdownState>(ShutdownState),
  });
}
