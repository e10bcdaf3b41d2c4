import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sampledServerSpanContext } from '../telemetry';
import { writeAccessLine } from './access-line';
import { sampledSpanContext } from './log-context.mixin';
import type { RootLogger } from './root-logger';

/** Route template of requests no route matched (404s), as in the HTTP metrics. */
export const UNMATCHED_ROUTE = 'unmatched';

/** What the access line says of a request the client abandoned before the answer (nginx's code). */
export const CLIENT_CLOSED_REQUEST = 499;

const accessLogged = Symbol('accessLogged');

declare module 'fastify' {
  interface FastifyRequest {
    [accessLogged]?: true;
  }
}

/**
 * One `http.request.completed` line per request, written from Fastify's
 * onResponse hook straight to pino's destination (access-line.ts): pino-http's
 * middleware would add a child logger and its serializers to every request
 * (SPEC 11: -37%). A request the
 * client abandons gets its line with status 499 when it is abandoned. Probes
 * and scrapes (/health/*, /metrics) arrive every few seconds and go to debug.
 * Nothing is registered when the level hides info lines (LOG_LEVEL=silent is
 * the benchmark's baseline).
 */
export function registerAccessLog(fastify: FastifyInstance, logger: RootLogger): void {
  if (!logger.isLevelEnabled('info')) return;
  fastify.decorateRequest(accessLogged, undefined);
  fastify.addHook('onResponse', (request, reply, done) => {
    logRequestCompleted(logger, request, reply.statusCode, reply.elapsedTime);
    done();
  });
  fastify.addHook('onRequestAbort', (request, done) => {
    const startedAt = request.requestContext?.startedAt;
    const elapsedMs =
      startedAt === undefined ? 0 : Number(process.hrtime.bigint() - startedAt) / 1e6;
    logRequestCompleted(logger, request, CLIENT_CLOSED_REQUEST, elapsedMs);
    done();
  });
}

/**
 * Writes the access line of a finished request, once (also used where Fastify
 * runs no hooks).
 */
export function logRequestCompleted(
  logger: RootLogger,
  request: FastifyRequest,
  status: number,
  elapsedMs: number,
): void {
  if (request[accessLogged]) return;
  request[accessLogged] = true;
  const route = request.routeOptions.url;
  const probe = route !== undefined && isProbeRoute(route);
  if (probe && !logger.isLevelEnabled('debug')) return;
  // The hook may run outside the request's async context, so the request's own fields are passed.
  const ctx = request.requestContext;
  writeAccessLine(logger, {
    level: probe ? 'debug' : 'info',
    requestId: ctx?.requestId,
    tenantId: ctx?.tenantId,
    userId: ctx?.userId,
    agentId: ctx?.agentId,
    method: request.method,
    route: route ?? UNMATCHED_ROUTE,
    // Cleaned as every `path` field is: no query string (tokens, search terms), length bounded.
    path: request.url,
    status,
    durationMs: Math.round(elapsedMs * 100) / 100,
    trace: sampledServerSpanContext(request) ?? sampledSpanContext(),
  });
}

function isProbeRoute(route: string): boolean {
  return route === '/metrics' || route === '/health' || route.startsWith('/health/');
}
