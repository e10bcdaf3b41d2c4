import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  acceptRequestId,
  newRequestContext,
  RequestContext,
  runWithRequestContext,
} from './request-context';

declare module 'fastify' {
  interface FastifyRequest {
    requestContext?: RequestContext;
  }
}

/**
 * Opens a request context for every request before anything else runs, and
 * re-enters it after the body is read: body parsing resumes on the socket's
 * async context, which would otherwise lose the store.
 */
export function registerRequestContext(fastify: FastifyInstance): void {
  fastify.decorateRequest('requestContext', undefined);
  fastify.addHook('onRequest', (request, reply, done) => {
    const ctx = newRequestContext(acceptRequestId(request.headers['x-request-id']));
    request.requestContext = ctx;
    void reply.header('x-request-id', ctx.requestId);
    runWithRequestContext(ctx, done);
  });
  fastify.addHook('preValidation', (request: FastifyRequest, _reply, done) => {
    const ctx = request.requestContext;
    if (ctx) runWithRequestContext(ctx, done);
    else done();
  });
}
