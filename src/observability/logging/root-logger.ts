import pino, { DestinationStream, LogFn, Logger, LoggerOptions } from 'pino';
import { prettyFactory } from 'pino-pretty';
import type { AppConfig } from '../../config';
import { logContextMixin } from './log-context.mixin';
import { DEFAULT_LOG_EVENT } from '../catalog';
import { createLogSanitizer, isError } from './log-sanitizer';
import { LineBatchDestination } from './line-batch.destination';
import { LOG_SERIALIZERS } from './log-serializers';
import { isoTimestampNow } from './log-timestamp';

/** The application's one pino instance: Nest's Logger and the access log write through it. */
export type RootLogger = Logger;

/** DI token of the RootLogger. */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/**
 * pino options of the SPEC 7 line: `timestamp` (ISO 8601 UTC), `level` as a
 * word, `event`, `message`, the correlation fields, nothing else by default
 * (no pid or hostname: the log shipper adds the pod).
 */
export function rootLoggerOptions(config: AppConfig): LoggerOptions {
  return {
    level: config.log.level,
    messageKey: 'message',
    errorKey: 'err',
    base: undefined,
    timestamp: isoTimestamp,
    formatters: {
      level: (label) => ({ level: label }),
      log: createLogSanitizer({ captureContent: config.telemetry.captureMessageContent }),
    },
    mixin: logContextMixin,
    serializers: LOG_SERIALIZERS,
    hooks: { logMethod: withDefaultMessage },
  };
}

/**
 * The root logger: JSON lines to stdout (synchronous 4 KiB batches, flushed on exit),
 * pino-pretty with LOG_FORMAT=pretty, nothing at all with LOG_LEVEL=silent.
 * `destination` replaces stdout; tests pass one to read the lines in-process.
 */
export function createRootLogger(config: AppConfig, destination?: DestinationStream): RootLogger {
  return pino(rootLoggerOptions(config), destination ?? defaultDestination(config));
}

function defaultDestination(config: AppConfig): DestinationStream {
  if (config.log.level === 'silent') return { write: () => undefined };
  if (config.log.format === 'pretty') {
    const prettify = prettyFactory({
      messageKey: 'message',
      timestampKey: 'timestamp',
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'event,context',
      messageFormat: prettyMessage,
    });
    // Formatted here and written to the same batch as every other line, so nothing comes out of order.
    const lines = stdoutLines();
    return { write: (line: string) => lines.write(prettify(line)) };
  }
  return stdoutLines();
}

let stdout: LineBatchDestination | undefined;

/**
 * The process's one writer to stdout: pino, the access line and the
 * telemetry's own lines all go through it, so lines never come out of order
 * (two batches, or a batch and a direct write, would reorder them).
 */
export function stdoutLines(): LineBatchDestination {
  if (!stdout) {
    const destination = new LineBatchDestination(1);
    // Batched lines would otherwise be lost at exit.
    process.once('exit', () => destination.flushSync());
    stdout = destination;
  }
  return stdout;
}

/** `agent.execute.started [AgentRunner] Starting agent execution`; framework lines without the `log` event. */
function prettyMessage(line: Record<string, unknown>, messageKey: string): string {
  const { event, context } = line;
  const message = line[messageKey];
  return [
    typeof event === 'string' && event !== DEFAULT_LOG_EVENT ? event : undefined,
    typeof context === 'string' ? `[${context}]` : undefined,
    typeof message === 'string' ? message : undefined,
  ]
    .filter((part) => part !== undefined)
    .join(' ');
}

function isoTimestamp(): string {
  return `,"timestamp":"${isoTimestampNow()}"`;
}

/**
 * Every line has a `message`: a call with fields only (`log({ event })`)
 * gets its event name, or the error's message (pino's own rule) when it carries one.
 */
function withDefaultMessage(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
  const [fields, message] = args as unknown[];
  if (
    message === undefined &&
    typeof fields === 'object' &&
    fields !== null &&
    !isError(fields) &&
    !isError((fields as { err?: unknown }).err)
  ) {
    const { event } = fields as { event?: unknown };
    method.call(this, fields, typeof event === 'string' ? event : '');
    return;
  }
  method.apply(this, args);
}
