import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { AppConfig } from './config';
import { registerRequestContext } from './observability/context';

/**
 * Builds the application without listening: main.ts and the e2e tests share
 * it, so tests exercise exactly what production runs.
 */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    // Request ids are ours (X-Request-ID); Fastify's own counter would only confuse logs.
    genReqId: () => '',
    return503OnClosing: false,
  });
  registerRequestContext(adapter.getInstance());
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger: config.log.level === 'silent' ? false : undefined,
    abortOnError: false,
  });
  app.enableShutdownHooks();
  return app;
}
