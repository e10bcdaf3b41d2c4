import {
  isSpanContextValid,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
} from '@opentelemetry/api';
import type { Attributes, Span } from '@opentelemetry/api';
import { ClassifiedError } from '../../common';
import { currentRequestContext } from '../context';
import { ATTR } from './gen-ai.attributes';
import { activeTracer } from './telemetry.state';

/** The span an observed operation gets: its name, kind and first attributes. */
export interface SpanPlan {
  readonly name: string;
  readonly kind: SpanKind;
  readonly attributes: Attributes;
}

/**
 * Runs fn inside a new active span and ends the span when fn settles; fn
 * sets the span's attributes and status. With telemetry off, inside a trace
 * the sampler declined, or inside a request that is not traced, fn runs with
 * no span at all (undefined): no span object, no context switch. The plan is
 * built only when a span is made.
 *
 * A request is traced whole or not at all: when its server span was not
 * sampled, nothing within it may start a trace of its own, which the ratio
 * sampler would then sample as an orphan tree. Work outside any request
 * (start-up, background checks) may start root spans.
 */
export function observedSpan<T>(
  plan: () => SpanPlan,
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  const tracer = activeTracer();
  if (!tracer || insideUntracedRequest() || insideUnsampledTrace()) return fn(undefined);
  const { name, kind, attributes } = plan();
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn(span);
    } finally {
      span.end();
    }
  });
}

/**
 * Runs fn inside a span named `name` (the original's create_span), for custom
 * code. With telemetry off, fn receives undefined and runs with no span work.
 * A thrown error marks the span ERROR with `error.type` and is rethrown unchanged.
 */
export function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  return observedSpan(
    () => ({ name, kind: SpanKind.INTERNAL, attributes }),
    async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        if (span) recordSpanError(span, error);
        throw error;
      }
    },
  );
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
 * A classified error's own `errorType` (`timeout`, `http_503`, ...), else
 * its class name; never the message, which is unbounded.
 */
export function errorTypeOf(error: unknown): string {
  if (error instanceof ClassifiedError) return error.errorType;
  if (error instanceof Error) return error.name || error.constructor.name || 'Error';
  return '_OTHER';
}

/**
 * True inside a request the tracing hooks did not trace (an unsampled new
 * trace, a probe): the request context, entered for every request anyway,
 * says so without a context switch into a non-recording span.
 */
function insideUntracedRequest(): boolean {
  const ctx = currentRequestContext();
  return ctx !== undefined && ctx.serverSpan === undefined;
}

/** True inside a trace the sampler already declined: children would not be recorded either. */
function insideUnsampledTrace(): boolean {
  const parent = trace.getActiveSpan()?.spanContext();
  return (
    parent !== undefined &&
    isSpanContextValid(parent) &&
    (parent.traceFlags & TraceFlags.SAMPLED) === 0
  );
}
