/**
 * The logging API (SPEC 7). Domain code logs through `new Logger(Name)` from
 * @nestjs/common with an object first argument, e.g.
 * `logger.log({ event: LOG_EVENTS.agentExecuteStarted, model }, 'Starting agent execution')`,
 * and binds the request's tenant, user and agent with the bind* functions.
 */
export { LoggingModule } from './logging.module';
export { createNestLogger } from './app-pino.logger';
export { createRootLogger, ROOT_LOGGER } from './root-logger';
export type { RootLogger } from './root-logger';
export { registerAccessLog } from './access-log.hooks';
export { createFrameworkErrorHandler } from './framework-errors.handler';
export { DEFAULT_LOG_EVENT, LOG_EVENTS } from './log-events';
export type { LogEvent } from './log-events';
export { bindAgentContext, bindTenantContext, bindUserContext } from '../context';
