import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
} from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isProbePath, SPAN_NAME } from '../catalog';
import { addAfterBodyHook, REQUEST_CONTEXT_PLUGIN } from '../context';
import { ATTR, TRACE_RESPONSE_HEADER } from './gen-ai.attributes';
import { stampRequestAttributes } from './request-attributes.span-processor';
import { ADMITTED_ROOT_CONTEXT, admitsNewRequestTrace } from './request-root.sampler';
import { activeTracer, rootSampleRatio } from './telemetry.state';

export const HTTP_SERVER_TRACING_PLUGIN = 'eap-http-server-tracing';

/** `error.type` of a server span whose client left before the answer. */
export const CLIENT_CLOSED = 'client_closed';

/**
 * The inbound HTTP server span, made with Fastify hooks. It replaces
 * @opentelemetry/instrumentation-http, which does its span work on every
 * request, sampled or not (measured in docs/performance.md). Per request it
 * extracts the W3C traceparent, asks the sampler, and runs the rest of the
 * request in the resulting context; only a sampled request gets attributes, a
 * `traceresponse` header and an exported span. The span is named by the
 * route template. /metrics and /health/* are never traced. The span and its
 * context are kept on the request context, where logs and metrics read them.
 *
 * With telemetry off nothing is registered.
 */
export const httpServerTracingPlugin = fp(
  (fastify: FastifyInstance, _options: unknown, done: (error?: Error) => void) => {
    const tracer = activeTracer();
    if (!tracer) {
      done();
      return;
    }
    const ratio = rootSampleRatio();
    fastify.addHook('onRequest', (request, reply, next) => {
      const ctx = request.requestContext;
      const newTrace = request.headers.traceparent === undefined;
      if (!ctx || (newTrace && !admitsNewRequestTrace(ratio)) || isProbePath(request.url)) {
        next();
        return;
      }
      // Extracted even for a new trace: the caller's baggage travels on.
      const parent = propagation.extract(
        newTrace ? ADMITTED_ROOT_CONTEXT : ROOT_CONTEXT,
        request.headers,
      );
      const route = request.routeOptions.url;
      const span = tracer.startSpan(
        SPAN_NAME.httpServer(request.method, route),
        { kind: SpanKind.SERVER },
        parent,
      );
      const { traceId, spanId, traceFlags } = span.spanContext();
      // An unsampled trace without a valid caller's context (a traceparent that did not
      // parse) has nothing to continue or propagate.
      if (!(traceFlags & TraceFlags.SAMPLED) && trace.getSpanContext(parent) === undefined) {
        next();
        return;
      }
      const spanContext = trace.setSpan(parent, span);
      ctx.serverSpan = { span, context: spanContext };
      if (span.isRecording()) describeRequest(span, request, route);
      if (traceFlags & TraceFlags.SAMPLED) {
        void reply.header(TRACE_RESPONSE_HEADER, `00-${traceId}-${spanId}-01`);
      }
      context.with(spanContext, next);
    });

    // Body parsing resumes on the socket's async context; re-enter the span's
    // (only then: entering costs more than looking).
    addAfterBodyHook(fastify, (request, _reply, next) => {
      const state = request.requestContext?.serverSpan;
      if (state && context.active() !== state.context) context.with(state.context, next);
      else next();
    });

    fastify.onRequestAnswered(endServerSpan);

    fastify.onRequestAbandoned((request) => endServerSpan(request, undefined));
    done();
  },
  { name: HTTP_SERVER_TRACING_PLUGIN, fastify: '5.x', dependencies: [REQUEST_CONTEXT_PLUGIN] },
);

function describeRequest(span: Span, request: FastifyRequest, route: string | undefined): void {
  const queryAt = request.url.indexOf('?');
  span.setAttributes({
    [ATTR.httpRequestMethod]: request.method,
    [ATTR.urlPath]: queryAt === -1 ? request.url : request.url.slice(0, queryAt),
    [ATTR.urlScheme]: request.protocol,
    [ATTR.clientAddress]: request.ip,
  });
  if (route) span.setAttribute(ATTR.httpRoute, route);
  const userAgent = request.headers['user-agent'];
  if (userAgent) span.setAttribute(ATTR.userAgentOriginal, userAgent);
}

function endServerSpan(request: FastifyRequest, reply: FastifyReply | undefined): void {
  const ctx = request.requestContext;
  const span = ctx?.serverSpan?.span;
  // Also what makes a second call (abort, then response) a no-op: an ended span records nothing.
  if (!span?.isRecording()) return;
  if (reply) {
    const status = reply.statusCode;
    span.setAttribute(ATTR.httpResponseStatusCode, status);
    // Server spans: only 5xx is the server's failure (HTTP conventions).
    if (status >= 500) {
      span.setAttribute(ATTR.errorType, String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
  } else {
    // The client closed the connection before the answer: no status was sent.
    span.setAttribute(ATTR.errorType, CLIENT_CLOSED);
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client closed the connection' });
  }
  // From the request itself: this hook may run in another request's async context.
  stampRequestAttributes(span, ctx);
  span.end();
}
