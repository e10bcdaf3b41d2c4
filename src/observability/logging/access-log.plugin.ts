import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isProbePath, UNMATCHED_ROUTE } from '../catalog';
import { REQUEST_CONTEXT_PLUGIN, sampledSpanContext } from '../context';
import { writeAccessLine } from './access-line';
import type { RootLogger } from './root-logger';

/** What the access line says of a request the client abandoned before the answer (nginx's code). */
export const CLIENT_CLOSED_REQUEST = 499;

export const ACCESS_LOG_PLUGIN = 'eap-access-log';

const accessLogged = Symbol('accessLogged');

declare module 'fastify' {
  interface FastifyRequest {
    [accessLogged]?: true;
  }
}

export interface AccessLogOptions {
  readonly logger: RootLogger;
}

/**
 * One `http.request.completed` line per request, written from Fastify's
 * onResponse hook straight to pino's destination (access-line.ts). It
 * replaces pino-http's per-request middleware, whose child logger and
 * serializers cost about 36 µs a request (docs/performance.md). A request the
 * client abandons gets its line with status 499 and `aborted: true` when it is
 * abandoned, while its body is read or while its handler works. Probes
 * and scrapes (/health/*, /metrics) arrive every few seconds and go to debug.
 * Nothing is registered when the level hides info lines (LOG_LEVEL=silent is
 * the benchmark's baseline).
 */
export const accessLogPlugin = fp(
  (fastify: FastifyInstance, { logger }: AccessLogOptions, done: (error?: Error) => void) => {
    if (!logger.isLevelEnabled('info')) {
      done();
      return;
    }
    fastify.decorateRequest(accessLogged, undefined);
    fastify.onRequestAnswered((request, reply) => {
      logRequestCompleted(logger, request, reply.statusCode, reply.elapsedTime);
    });
    fastify.onRequestAbandoned((request) => {
      logRequestCompleted(logger, request, CLIENT_CLOSED_REQUEST, abandonedAfterMs(request), true);
    });
    done();
  },
  { name: ACCESS_LOG_PLUGIN, fastify: '5.x', dependencies: [REQUEST_CONTEXT_PLUGIN] },
);

/**
 * Writes the access line of a finished request, once (also used where Fastify
 * runs no hooks).
 */
export function logRequestCompleted(
  logger: RootLogger,
  request: FastifyRequest,
  status: number,
  elapsedMs: number,
  aborted = false,
): void {
  if (request[accessLogged]) return;
  request[accessLogged] = true;
  const route = request.routeOptions.url;
  const probe = route !== undefined && isProbePath(route);
  if (probe && !logger.isLevelEnabled('debug')) return;
  // The hook may run outside the request's async context, so the request's own fields are passed.
  const ctx = request.requestContext;
  writeAccessLine(logger, {
    level: probe ? 'debug' : 'info',
    requestId: ctx?.requestId,
    tenantId: ctx?.tenantId,
    userId: ctx?.userId,
    agentId: ctx?.agentId,
    agentType: ctx?.agentType,
    method: request.method,
    route: route ?? UNMATCHED_ROUTE,
    // Cleaned as every `path` field is: no query string (tokens, search terms), length bounded.
    path: request.url,
    status,
    aborted: aborted || undefined,
    durationMs: Math.round(elapsedMs * 100) / 100,
    trace: sampledSpanContext(ctx?.serverSpan?.span) ?? sampledSpanContext(),
  });
}

/** From the request's start to the moment its client left. */
export function abandonedAfterMs(request: FastifyRequest): number {
  const ctx = request.requestContext;
  if (ctx?.abandonedAt === undefined) return 0;
  return Number(ctx.abandonedAt - ctx.startedAt) / 1e6;
}
