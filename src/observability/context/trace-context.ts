import { isSpanContextValid, trace, TraceFlags } from '@opentelemetry/api';
import type { Span, SpanContext } from '@opentelemetry/api';

/**
 * The span's context when that span is sampled (by default the active one),
 * else undefined. Trace ids go on log lines, run records and exemplars only
 * through this: an unsampled span's ids lead nowhere, no backend has the trace.
 */
export function sampledSpanContext(
  span: Span | undefined = trace.getActiveSpan(),
): SpanContext | undefined {
  const spanContext = span?.spanContext();
  if (
    spanContext === undefined ||
    (spanContext.traceFlags & TraceFlags.SAMPLED) === 0 ||
    !isSpanContextValid(spanContext)
  ) {
    return undefined;
  }
  return spanContext;
}

/** The trace id of the active span when it is sampled: what a run record links to. */
export function sampledTraceId(): string | undefined {
  return sampledSpanContext()?.traceId;
}
