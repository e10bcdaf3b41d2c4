import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { acceptRequestId, newRequestContext } from '../observability/context';
import { logRequestCompleted } from '../observability/logging';
import type { RootLogger } from '../observability/logging';
import { toErrorBody } from './http-exception.filter';

/**
 * Fastify's `frameworkErrors`: the router answers a malformed URL (400) or an
 * over-long route parameter (414) before any hook runs, so those answers
 * would carry no X-Request-ID, no error body and no access line. This gives
 * them all three. It replaces the adapter's default, whose only extra is a
 * security hook this application does not register.
 */
export function createFrameworkErrorHandler(
  logger: RootLogger,
): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    const ctx = newRequestContext(acceptRequestId(request.headers['x-request-id']));
    request.requestContext = ctx;
    const body = toErrorBody(error, ctx.requestId);
    void reply.header('x-request-id', ctx.requestId).status(body.statusCode).send(body);
    if (logger.isLevelEnabled('info')) {
      logRequestCompleted(logger, request, reply.statusCode, reply.elapsedTime);
    }
  };
}
