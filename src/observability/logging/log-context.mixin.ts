import { isSpanContextValid, trace, TraceFlags } from '@opentelemetry/api';
import type { SpanContext } from '@opentelemetry/api';
import { currentRequestContext } from '../context';
import { DEFAULT_LOG_EVENT } from './log-events';

/**
 * pino's `mixin`: the correlation fields of every line, read at the moment of
 * logging. The request fields come from the request context (so a tenant bound
 * by the auth guard shows on every later line of that request and no other),
 * the trace ids from the active span (so a line inside a nested span carries
 * that span's id). Fields the caller passes win over these.
 */
export function logContextMixin(): Record<string, unknown> {
  const fields: Record<string, unknown> = { event: DEFAULT_LOG_EVENT };
  const ctx = currentRequestContext();
  if (ctx) {
    fields.request_id = ctx.requestId;
    if (ctx.tenantId !== undefined) fields.tenant_id = ctx.tenantId;
    if (ctx.userId !== undefined) fields.user_id = ctx.userId;
    if (ctx.agentId !== undefined) fields.agent_id = ctx.agentId;
  }
  const span = sampledSpanContext();
  if (span) {
    fields.trace_id = span.traceId;
    fields.span_id = span.spanId;
  }
  return fields;
}

/** The active span's context when it is sampled: an unsampled span's ids lead nowhere, no backend has the trace. */
export function sampledSpanContext(): SpanContext | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (
    spanContext &&
    (spanContext.traceFlags & TraceFlags.SAMPLED) !== 0 &&
    isSpanContextValid(spanContext)
  ) {
    return spanContext;
  }
  return undefined;
}
