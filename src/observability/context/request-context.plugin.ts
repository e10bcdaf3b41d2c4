import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
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

export const REQUEST_CONTEXT_PLUGIN = 'eap-request-context';

/**
 * Opens a request context for every request before anything else runs, and
 * re-enters it after the body is read: body parsing resumes on the socket's
 * async context, which would otherwise lose the store.
 */
export const requestContextPlugin = fp(
  (fastify: FastifyInstance, _options: unknown, done: (error?: Error) => void) => {
    fastify.decorateRequest('requestContext', undefined);
    fastify.addHook('onRequest', (request, reply, next) => {
      const ctx = newRequestContext(acceptRequestId(request.headers['x-request-id']));
      request.requestContext = ctx;
      void reply.header('x-request-id', ctx.requestId);
      runWithRequestContext(ctx, next);
    });
    fastify.addHook('preValidation', (request: FastifyRequest, _reply, next) => {
      const ctx = request.requestContext;
      if (ctx) runWithRequestContext(ctx, next);
      else next();
    });
    done();
  },
  { name: REQUEST_CONTEXT_PLUGIN, fastify: '5.x' },
);
