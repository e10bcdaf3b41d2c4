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
  if (line.requestId !== undefined) json += `,"request_id":${requestIdJson(line.requestId)}`;
  if (line.tenantId !== undefined) json += `,"tenant_id":${text('tenant_id', line.tenantId)}`;
  if (line.userId !== undefined) json += `,"user_id":${text('user_id', line.userId)}`;
  if (line.agentId !== undefined) json += `,"agent_id":${text('agent_id', line.agentId)}`;
  if (line.agentType !== undefined) json += `,"agent_type":${text('agent_type', line.agentType)}`;
  const route = routeFields(line.method, line.route);
  json +=
    route.methodAndRoute +
    (line.path === line.route ? route.pathIsRoute : `,"path":${text('path', line.path)}`) +
    `,"status":${finite(line.status)}` +
    (line.aborted ? ',"aborted":true' : '') +
    `,"duration_ms":${finite(line.durationMs)}`;
  const trace = line.trace;
  if (trace)
    json += `,"trace_id":${JSON.stringify(trace.traceId)},"span_id":${JSON.stringify(trace.spanId)}`;
  return json + END;
}

interface RouteFields {
  readonly methodAndRoute: string;
  /** The `path` field of a request whose path is its route (a route without parameters). */
  readonly pathIsRoute: string;
}

/** Methods and route templates are few: their cleaned JSON is made once each, not every request. */
const routeFieldsCache = new Map<string, RouteFields>();
const ROUTE_FIELDS_CACHE_MAX = 1000;

function routeFields(method: string, route: string): RouteFields {
  const key = `${method} ${route}`;
  let fields = routeFieldsCache.get(key);
  if (fields === undefined) {
    fields = {
      methodAndRoute: `,"method":${text('method', method)},"route":${text('route', route)}`,
      pathIsRoute: `,"path":${text('path', route)}`,
    };
    // Bounded whatever the callers pass; a clear is only a few re-made fragments.
    if (routeFieldsCache.size >= ROUTE_FIELDS_CACHE_MAX) routeFieldsCache.clear();
    routeFieldsCache.set(key, fields);
  }
  return fields;
}

/**
 * Request ids the platform accepts or makes (letters, digits, `._-`, at most
 * 128) are already clean and need no escaping; anything else is cleaned as
 * any other field.
 */
const PLAIN_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

function requestIdJson(value: string): string {
  return PLAIN_REQUEST_ID.test(value) ? `"${value}"` : text('request_id', value);
}

function text(key: string, value: string): string {
  return JSON.stringify(sanitizeLogString(key, value));
}

/** JSON has no NaN or Infinity (pino writes null for them too). */
function finite(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}
