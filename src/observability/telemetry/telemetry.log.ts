import type { LogLevel } from '../../config';
import type { LogEvent } from '../catalog';
import { stdoutLines } from '../logging';

type TelemetryLogLevel = 'info' | 'warn';

const SEVERITY: Record<LogLevel, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

/**
 * The telemetry's own log lines. The SDK starts in the preload, before Nest
 * and its pino logger exist, so these are formatted here, one JSON object a
 * line with the fields every log line has (timestamp, level, event,
 * message), and written through the process's one stdout batch, in order
 * with every other line.
 */
export class TelemetryLog {
  constructor(
    private readonly level: LogLevel,
    private readonly write: (line: string) => void = (line) => stdoutLines().write(line),
  ) {}

  info(event: LogEvent, message: string, fields: Record<string, unknown> = {}): void {
    this.log('info', event, message, fields);
  }

  warn(event: LogEvent, message: string, fields: Record<string, unknown> = {}): void {
    this.log('warn', event, message, fields);
  }

  private log(
    level: TelemetryLogLevel,
    event: LogEvent,
    message: string,
    fields: Record<string, unknown>,
  ): void {
    if (SEVERITY[level] < SEVERITY[this.level]) return;
    const line = { timestamp: new Date().toISOString(), level, event, message, ...fields };
    this.write(`${JSON.stringify(line)}\n`);
  }
}
