import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
} from '@opentelemetry/api';
import type { Context, Span, SpanContext } from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ATTR, SPAN_NAME, TRACE_RESPONSE_HEADER } from './gen-ai.attributes';
import { stampRequestAttributes } from './request-attributes.span-processor';
import { activeTracer } from './telemetry.state';

interface ServerSpanState {
  span: Span;
  context: Context;
}

declare module 'fastify' {
  interface FastifyRequest {
    serverSpan?: ServerSpanState;
  }
}

/**
 * The inbound HTTP server span, made with Fastify hooks instead of the
 * generic http instrumentation (which costs 60-90 µs on every request,
 * sampled or not; SPEC section 11). Per request it extracts the W3C
 * traceparent, asks the sampler, and runs the rest of the request in the
 * resulting context; only a sampled request gets attributes, a
 * `traceresponse` header and an exported span. The span is named by the
 * route template. /metrics and /health/* are never traced.
 *
 * Registered only when telemetry is on: with it off there is no hook at all.
 * Call after registerRequestContext so the request context is bound first.
 */
export function registerHttpServerTracing(fastify: FastifyInstance): void {
  const tracer = activeTracer();
  if (!tracer) return;
  fastify.decorateRequest('serverSpan', undefined);

  fastify.addHook('onRequest', (request, reply, done) => {
    if (isUntracedPath(request.url)) {
      done();
      return;
    }
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const route = request.routeOptions.url;
    const span = tracer.startSpan(
      SPAN_NAME.httpServer(request.method, route),
      { kind: SpanKind.SERVER },
      parent,
    );
    const { traceId, spanId, traceFlags } = span.spanContext();
    // An unsampled new trace (no caller's traceparent) has nothing to continue or propagate:
    // skipping the context switch saves about 1.5 µs on most requests at low sampling ratios.
    if (!(traceFlags & TraceFlags.SAMPLED) && trace.getSpanContext(parent) === undefined) {
      done();
      return;
    }
    const spanContext = trace.setSpan(parent, span);
    request.serverSpan = { span, context: spanContext };
    if (span.isRecording()) describeRequest(span, request, route);
    if (traceFlags & TraceFlags.SAMPLED) {
      void reply.header(TRACE_RESPONSE_HEADER, `00-${traceId}-${spanId}-01`);
    }
    context.with(spanContext, done);
  });

  // Body parsing resumes on the socket's async context; re-enter the span's
  // (only then: a bodiless request is still inside it, and entering costs more than looking).
  fastify.addHook('preValidation', (request, _reply, done) => {
    const state = request.serverSpan;
    if (state && context.active() !== state.context) context.with(state.context, done);
    else done();
  });

  fastify.addHook('onResponse', (request, reply, done) => {
    endServerSpan(request, reply);
    done();
  });

  fastify.addHook('onRequestAbort', (request, done) => {
    endServerSpan(request, undefined);
    done();
  });
}

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
  const state = request.serverSpan;
  if (!state) return;
  const { span } = state;
  // Also what makes a second call (abort, then response) a no-op: an ended span records nothing.
  if (!span.isRecording()) return;
  if (reply) {
    const status = reply.statusCode;
    span.setAttribute(ATTR.httpResponseStatusCode, status);
    // Server spans: only 5xx is the server's failure (HTTP conventions).
    if (status >= 500) {
      span.setAttribute(ATTR.errorType, String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
  } else {
    span.setAttribute(ATTR.errorType, 'aborted');
  }
  // From the request itself: this hook may run in another request's async context.
  stampRequestAttributes(span, request.requestContext);
  span.end();
}

/** /metrics, /health and /health/... (with or without a query string). */
export function isUntracedPath(url: string): boolean {
  return hasPathPrefix(url, '/metrics') || hasPathPrefix(url, '/health');
}

function hasPathPrefix(url: string, prefix: string): boolean {
  if (!url.startsWith(prefix)) return false;
  const next = url.charCodeAt(prefix.length);
  return Number.isNaN(next) || next === 0x2f /* / */ || next === 0x3f; /* ? */
}

/**
 * The request's inbound span context when it is sampled (exemplars, the access
 * line), read from the request rather than the active context: it holds after
 * the span ended, and in hooks that run outside the request's context.
 */
export function sampledServerSpanContext(request: FastifyRequest): SpanContext | undefined {
  const spanContext = request.serverSpan?.span.spanContext();
  if (!spanContext || !(spanContext.traceFlags & TraceFlags.SAMPLED)) return undefined;
  return spanContext;
}

export function sampledTraceIdOf(request: FastifyRequest): string | undefined {
  return sampledServerSpanContext(request)?.traceId;
}
