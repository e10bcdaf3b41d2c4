import {
  DynamicModule,
  Global,
  Inject,
  Module,
  OnApplicationShutdown,
  Scope,
} from '@nestjs/common';
import { Logger, PinoLogger } from 'nestjs-pino';
import { AppPinoLogger, createNestLogger } from './app-pino.logger';
import { ROOT_LOGGER } from './root-logger';
import type { RootLogger } from './root-logger';

/**
 * nestjs-pino wired to the application's root logger. bootstrap hands the
 * same kind of `Logger` to NestFactory.create, so every `new Logger(...)` from
 * @nestjs/common (and Nest itself) writes the documented lines: an object first
 * argument becomes the line's fields, the string its `message`.
 */
@Global()
@Module({})
export class LoggingModule implements OnApplicationShutdown {
  static forRoot(rootLogger: RootLogger): DynamicModule {
    return {
      module: LoggingModule,
      providers: [
        { provide: ROOT_LOGGER, useValue: rootLogger },
        {
          provide: PinoLogger,
          // nestjs-pino's contract: each injection gets its own, so setContext stays local.
          scope: Scope.TRANSIENT,
          useFactory: (root: RootLogger) => new AppPinoLogger(root),
          inject: [ROOT_LOGGER],
        },
        { provide: Logger, useFactory: createNestLogger, inject: [ROOT_LOGGER] },
      ],
      exports: [ROOT_LOGGER, PinoLogger, Logger],
    };
  }

  constructor(@Inject(ROOT_LOGGER) private readonly root: RootLogger) {}

  // app.shutdown lines come from the graceful shutdown (src/observability/health); this
  // only hands buffered lines to stdout before the process exits.
  onApplicationShutdown(): void {
    this.root.flush();
  }
}
