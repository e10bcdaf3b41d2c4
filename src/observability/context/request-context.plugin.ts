import type { ServerResponse } from 'node:http';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preValidationHookHandler,
} from 'fastify';
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
    /** Called for every answered request, in the order registered, from one onResponse hook. */
    onRequestAnswered(listener: (request: FastifyRequest, reply: FastifyReply) => void): void;
  }
}

export const REQUEST_CONTEXT_PLUGIN = 'eap-request-context';

const requestOf = Symbol('eapRequest');

/** Methods whose body Fastify never reads: their handlers still run in onRequest's async context. */
const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'TRACE']);

/**
 * Adds `hook` as a preValidation hook of every route registered from now on
 * that may read a body, for re-entering an async context the body parsing
 * lost. A GET does not lose it, and does not pay a hook call for it.
 */
export function addAfterBodyHook(fastify: FastifyInstance, hook: preValidationHookHandler): void {
  fastify.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.every((method) => BODYLESS_METHODS.has(method))) return;
    const existing = route.preValidation;
    route.preValidation =
      existing === undefined
        ? [hook]
        : [...(Array.isArray(existing) ? existing : [existing]), hook];
  });
}

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
 * report it once. Their answered requests they see through
 * `fastify.onRequestAnswered`: one onResponse hook for all of them, since a
 * hook call is a cost every request pays.
 */
export const requestContextPlugin = fp(
  (fastify: FastifyInstance, _options: unknown, done: (error?: Error) => void) => {
    const listeners: ((request: FastifyRequest) => void)[] = [];
    fastify.decorate('onRequestAbandoned', (listener: (request: FastifyRequest) => void) => {
      listeners.push(listener);
    });
    const answered: ((request: FastifyRequest, reply: FastifyReply) => void)[] = [];
    fastify.decorate(
      'onRequestAnswered',
      (listener: (request: FastifyRequest, reply: FastifyReply) => void) => {
        // The hook is added with the first listener: with none (the bare app) there is no call.
        if (answered.length === 0) {
          fastify.addHook('onResponse', (request, reply, next) => {
            // One listener failing does not silence the others; Fastify logs what it gets.
            let failure: Error | undefined;
            for (const notify of answered) {
              try {
                notify(request, reply);
              } catch (error) {
                failure ??= error instanceof Error ? error : new Error(String(error));
              }
            }
            next(failure);
          });
        }
        answered.push(listener);
      },
    );
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
    addAfterBodyHook(fastify, (request, _reply, next) => {
      const ctx = request.requestContext;
      if (ctx) runWithRequestContext(ctx, next);
      else next();
    });
    done();
  },
  { name: REQUEST_CONTEXT_PLUGIN, fastify: '5.x' },
);
