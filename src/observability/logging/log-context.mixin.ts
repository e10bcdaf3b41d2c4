import { DEFAULT_LOG_EVENT } from '../catalog';
import { currentRequestContext, sampledSpanContext } from '../context';

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
    if (ctx.agentType !== undefined) fields.agent_type = ctx.agentType;
  }
  const span = sampledSpanContext();
  if (span) {
    fields.trace_id = span.traceId;
    fields.span_id = span.spanId;
  }
  return fields;
}
