import { SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import type { Attributes, Span } from '@opentelemetry/api';
import { ATTR } from './gen-ai.attributes';
import { activeTracer, isTracingActive } from './telemetry.state';

/**
 * Runs fn inside a span named `name` (the original's create_span). With
 * telemetry off, fn receives undefined and runs with no span work. A thrown
 * error marks the span ERROR with `error.type` and is rethrown unchanged.
 */
export async function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  const tracer = activeTracer();
  if (!tracer) return fn(undefined);
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      recordSpanError(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * The trace id of the active span when that span is sampled, else undefined:
 * run records, exemplars and log lines only link to traces that exist.
 */
export function currentTraceId(): string | undefined {
  return currentTraceContext()?.traceId;
}

/** Trace and span id of the active sampled span, for log correlation. */
export function currentTraceContext(): { traceId: string; spanId: string } | undefined {
  if (!isTracingActive()) return undefined;
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || (spanContext.traceFlags & TraceFlags.SAMPLED) === 0) return undefined;
  return { traceId: spanContext.traceId, spanId: spanContext.spanId };
}

/** Status ERROR, the exception event and `error.type` (a low-cardinality class of failure). */
export function recordSpanError(span: Span, error: unknown, errorType = errorTypeOf(error)): void {
  if (!span.isRecording()) return;
  span.setAttribute(ATTR.errorType, errorType);
  if (error instanceof Error) {
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  } else {
    span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
  }
}

/**
 * An error's own `errorType` (LlmRequestError: `timeout`, `http_503`, ...)
 * when it has one, else its class name; never the message, which is unbounded.
 */
export function errorTypeOf(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const own = (error as { errorType?: unknown }).errorType;
    if (typeof own === 'string' && own !== '') return own;
    if (error instanceof Error) return error.name || error.constructor.name || 'Error';
  }
  return '_OTHER';
}
