import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  acceptRequestId,
  markAbandoned,
  newRequestContext,
  RequestContext,
  runWithRequestContext,
} from './request-context';

declare module 'fastify' {
  interface FastifyRequest {
    requestContext?: RequestContext;
  }
  interface FastifyInstance {
    /** Called once for a request whose client closed the connection before the answer. */
    onRequestAbandoned(listener: (request: FastifyRequest) => void): void;
  }
}

export const REQUEST_CONTEXT_PLUGIN = 'eap-request-context';

const requestOf = Symbol('eapRequest');

interface TrackedResponse extends ServerResponse {
  [requestOf]?: FastifyRequest;
}

/**
 * Opens a request context for every request before anything else runs, and
 * re-enters it after the body is read: body parsing resumes on the socket's
 * async context, which would otherwise lose the store.
 *
 * It also sees a client leave. Fastify's onRequestAbort fires only while the
 * body is still being read (it tests `req.aborted`, false once the body is
 * complete), and its request.signal aborts as soon as the body is consumed;
 * neither tells a run that its client is gone. A response that closes before
 * it finished is the one signal for both cases: the request is then marked
 * abandoned, its abandonedSignal aborts, and the listeners registered with
 * `fastify.onRequestAbandoned` (the access line, the metrics, the server span)
 * report it once.
 */
export const requestContextPlugin = fp(
  (fastify: FastifyInstance, _options: unknown, done: (error?: Error) => void) => {
    const listeners: ((request: FastifyRequest) => void)[] = [];
    fastify.decorate('onRequestAbandoned', (listener: (request: FastifyRequest) => void) => {
      listeners.push(listener);
    });
    // One function for every response (no closure a request): the response points at its request.
    function onResponseClose(this: TrackedResponse): void {
      const request = this[requestOf];
      this[requestOf] = undefined;
      if (this.writableFinished || !request?.requestContext) return;
      if (!markAbandoned(request.requestContext)) return;
      for (const listener of listeners) listener(request);
    }
    fastify.decorateRequest('requestContext', undefined);
    fastify.addHook('onRequest', (request, reply, next) => {
      const ctx = newRequestContext(acceptRequestId(request.headers['x-request-id']));
      request.requestContext = ctx;
      void reply.header('x-request-id', ctx.requestId);
      const response = reply.raw as TrackedResponse;
      response[requestOf] = request;
      response.on('close', onResponseClose);
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
