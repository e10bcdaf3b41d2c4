import { SpanKind } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import { currentRequestContext } from '../context';
import type { RequestContext } from '../context';
import { ATTR } from './gen-ai.attributes';

/**
 * Stamps the original's `tenant_id`, `user_id` and `agent_id` on every span
 * of a request, from the request context. At start when they are already
 * bound; again just before the span ends, because the auth guard and the
 * runner bind them after the request's first spans have started.
 */
export class RequestAttributesSpanProcessor implements SpanProcessor {
  onStart(span: Span, _parentContext: Context): void {
    stampRequestAttributes(span, currentRequestContext());
  }

  onEnding(span: Span): void {
    // Inbound server spans end in a Fastify hook that may run in another request's async
    // context: http-server-tracing stamps them from their own request instead.
    if (span.kind === SpanKind.SERVER) return;
    stampRequestAttributes(span, currentRequestContext());
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Sets the request's tenant_id, user_id and agent_id (those known) on a span. */
export function stampRequestAttributes(
  span: { setAttribute(key: string, value: string): unknown },
  ctx: RequestContext | undefined,
): void {
  if (!ctx) return;
  if (ctx.tenantId !== undefined) span.setAttribute(ATTR.tenantId, ctx.tenantId);
  if (ctx.userId !== undefined) span.setAttribute(ATTR.userId, ctx.userId);
  if (ctx.agentId !== undefined) span.setAttribute(ATTR.agentId, ctx.agentId);
}
