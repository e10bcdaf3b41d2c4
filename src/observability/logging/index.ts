/**
 * The logging pillar. Domain code logs through nestjs-pino's PinoLogger,
 * injected (`constructor(private readonly logger: PinoLogger) { logger.setContext(Name) }`),
 * with an object first argument whose `event` comes from the catalog; most
 * domain events are written by the observers, not by domain code.
 */
export { LoggingModule } from './logging.module';
export { createNestLogger } from './app-pino.logger';
export { createRootLogger, ROOT_LOGGER, stdoutLines } from './root-logger';
export type { RootLogger } from './root-logger';
export {
  abandonedAfterMs,
  ACCESS_LOG_PLUGIN,
  accessLogPlugin,
  CLIENT_CLOSED_REQUEST,
  logRequestCompleted,
} from './access-log.plugin';
export type { AccessLogOptions } from './access-log.plugin';
export { scrubText } from './scrub';
export type { ScrubOptions } from './scrub';
export { PinoLogger } from 'nestjs-pino';
