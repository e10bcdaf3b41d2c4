// The `plain` reference mode: NestJS and Fastify as a new project starts them,
// none of the platform's code, no observability. What bare costs above it is
// what the platform's own hooks cost with observability off.
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';

/** The platform's /v1/info body as bare answered it (run.ts passes it), so both write the same bytes. */
const INFO_BODY = JSON.parse(process.env.BENCH_INFO_BODY ?? 'null') as unknown;

@Controller('v1/info')
class PlainInfoController {
  @Get()
  info(): unknown {
    return INFO_BODY;
  }
}

@Module({ controllers: [PlainInfoController] })
class PlainAppModule {}

async function main(): Promise<void> {
  if (INFO_BODY === null || typeof INFO_BODY !== 'object') {
    throw new Error('BENCH_INFO_BODY must be the JSON object /v1/info answers');
  }
  const app = await NestFactory.create<NestFastifyApplication>(
    PlainAppModule,
    new FastifyAdapter(),
  );
  // Exits normally on SIGTERM (bench-app's stop), so `node --cpu-prof` writes its profile.
  process.once('SIGTERM', () => {
    void app.close().finally(() => process.exit(0));
  });
  await app.listen({
    port: Number(process.env.PORT ?? 3000),
    host: process.env.HOST ?? '127.0.0.1',
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`plain app: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
