import { Logger, PinoLogger } from 'nestjs-pino';
import type { RootLogger } from './root-logger';

/**
 * nestjs-pino's PinoLogger writing to this application's root logger.
 *
 * The library's own root is process-wide (the first application built in a
 * process would own every later one's lines) and is fed per request by
 * pino-http, whose child logger per request costs ~36 µs (docs/performance.md). The
 * request fields come from the mixin instead, read from the request context,
 * so neither is needed.
 */
export class AppPinoLogger extends PinoLogger {
  constructor(private readonly root: RootLogger) {
    super({ pinoHttp: { logger: root, autoLogging: false } });
  }

  override get logger(): RootLogger {
    return this.root;
  }
}

/**
 * Nest's LoggerService on the root logger (nestjs-pino's Logger over
 * AppPinoLogger): what NestFactory.create's `logger` option takes.
 */
export function createNestLogger(root: RootLogger): Logger {
  return new Logger(new AppPinoLogger(root), {});
}
