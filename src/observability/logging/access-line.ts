import pino from 'pino';
import type { DestinationStream } from 'pino';
import { LOG_EVENTS } from '../catalog';
import { sanitizeLogString } from './log-sanitizer';
import { isoTimestampNow } from './log-timestamp';
import type { RootLogger } from './root-logger';

export interface AccessLine {
  readonly level: 'info' | 'debug';
  readonly requestId?: string;
  readonly tenantId?: string;
  readonly userId?: string;
  readonly agentId?: string;
  readonly agentType?: string;
  readonly method: string;
  readonly route: string;
  /** The request target as received: the `path` rule strips its query string and fragment. */
  readonly path: string;
  readonly status: number;
  /** The client closed the connection before the answer (status 499). */
  readonly aborted?: true;
  readonly durationMs: number;
  /** The request's sampled span, whose ids the line carries to join its trace. */
  readonly trace?: { readonly traceId: string; readonly spanId: string };
}

const PREFIX = { info: '{"level":"info","timestamp":"', debug: '{"level":"debug","timestamp":"' };
const EVENT = `","event":${JSON.stringify(LOG_EVENTS.httpRequestCompleted)}`;
const END = ',"message":"Request completed"}\n';

/**
 * Writes the `http.request.completed` line straight to the root logger's
 * destination, as pino would have written it: the same fields, the same
 * cleaning of each string (secret-looking values redacted, long ones cut,
 * JSON escaping), the trace ids of the request's sampled span. Every request
 * writes one, and pino's generic path (hooks, mixin, merge, a sanitizer pass
 * over the whole object, per-key serialisation) cost about four times as much.
 */
export function writeAccessLine(logger: RootLogger, line: AccessLine): void {
  const stream = (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym];
  stream.write(formatAccessLine(line));
}

export function formatAccessLine(line: AccessLine): string {
  let json = PREFIX[line.level] + isoTimestampNow() + EVENT;
  if (line.requestId !== undefined) json += `,"request_id":${text('request_id', line.requestId)}`;
  if (line.tenantId !== undefined) json += `,"tenant_id":${text('tenant_id', line.tenantId)}`;
  if (line.userId !== undefined) json += `,"user_id":${text('user_id', line.userId)}`;
  if (line.agentId !== undefined) json += `,"agent_id":${text('agent_id', line.agentId)}`;
  if (line.agentType !== undefined) json += `,"agent_type":${text('agent_type', line.agentType)}`;
  json +=
    `,"method":${text('method', line.method)}` +
    `,"route":${text('route', line.route)}` +
    `,"path":${text('path', line.path)}` +
    `,"status":${finite(line.status)}` +
    (line.aborted ? ',"aborted":true' : '') +
    `,"duration_ms":${finite(line.durationMs)}`;
  const trace = line.trace;
  if (trace)
    json += `,"trace_id":${JSON.stringify(trace.traceId)},"span_id":${JSON.stringify(trace.spanId)}`;
  return json + END;
}

function text(key: string, value: string): string {
  return JSON.stringify(sanitizeLogString(key, value));
}

/** JSON has no NaN or Infinity (pino writes null for them too). */
function finite(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}
