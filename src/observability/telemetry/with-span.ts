import type { Attributes, Span } from '@opentelemetry/api';

/**
 * Runs fn inside a span named `name` (the original's create_span). With
 * telemetry off, fn receives undefined and runs with no span work.
 * SKELETON: the tracing issue implements it.
 */
export async function withSpan<T>(
  _name: string,
  _attributes: Attributes,
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  return fn(undefined);
}

/** The trace id of the active sampled span, for run records and exemplars. SKELETON. */
export function currentTraceId(): string | undefined {
  return undefined;
}
