import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Context, Span } from '@opentelemetry/api';

/** The request's inbound server span and the context it runs the request in. */
export interface ServerSpanState {
  readonly span: Span;
  readonly context: Context;
}

/**
 * What logs, spans and metrics may know about the current request. One
 * mutable object per request, stored on AsyncLocalStorage: the auth guard and
 * the agent runner fill it in; readers never see another request's fields.
 */
export interface RequestContext {
  readonly requestId: string;
  readonly startedAt: bigint;
  tenantId?: string;
  userId?: string;
  agentId?: string;
  agentType?: string;
  /** Set by the tracing hooks when the request has a server span. */
  serverSpan?: ServerSpanState;
  /** Set when the client closed the connection before the answer was sent. */
  abandonedAt?: bigint;
  /** Made on first use by abandonedSignal(). */
  abandonment?: AbortController;
}

/** Why the signal of an abandoned request aborted. */
export class ClientClosedError extends Error {
  constructor() {
    super('The client closed the connection before the answer was sent');
    this.name = 'ClientClosedError';
  }
}

/**
 * Aborts when the request's client goes away before its answer: work done for
 * it (an agent run, a model call) can stop at once instead of spending for
 * nobody. Made on first use, so requests that never ask pay nothing.
 */
export function abandonedSignal(ctx: RequestContext): AbortSignal {
  ctx.abandonment ??= new AbortController();
  if (ctx.abandonedAt !== undefined && !ctx.abandonment.signal.aborted) {
    ctx.abandonment.abort(new ClientClosedError());
  }
  return ctx.abandonment.signal;
}

/** Marks the request abandoned and aborts its signal; true the first time only. */
export function markAbandoned(ctx: RequestContext): boolean {
  if (ctx.abandonedAt !== undefined) return false;
  ctx.abandonedAt = process.hrtime.bigint();
  ctx.abandonment?.abort(new ClientClosedError());
  return true;
}

const storage = new AsyncLocalStorage<RequestContext>();

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** Keeps a caller's X-Request-ID only when it is safe to echo and log. */
export function acceptRequestId(candidate: unknown): string {
  if (typeof candidate === 'string' && REQUEST_ID_PATTERN.test(candidate)) return candidate;
  return generateRequestId();
}

/** randomUUID draws from a pooled entropy cache: about 0.1 µs, against 1.6 µs for randomBytes(12). */
export function generateRequestId(): string {
  return `req_${randomUUID()}`;
}

export function newRequestContext(requestId: string = generateRequestId()): RequestContext {
  return { requestId, startedAt: process.hrtime.bigint() };
}

/** Runs fn with ctx as the current request context (and its async continuations). */
export function runWithRequestContext<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

/** The current request context, or undefined outside a request (start-up, timers). */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Binds the tenant to every later log line, span and metric of this async context. */
export function bindTenantContext(tenantId: string): void {
  const ctx = storage.getStore();
  if (ctx) ctx.tenantId = tenantId;
}

export function bindUserContext(userId: string): void {
  const ctx = storage.getStore();
  if (ctx) ctx.userId = userId;
}

export function bindAgentContext(agentId: string, agentType?: string): void {
  const ctx = storage.getStore();
  if (ctx) {
    ctx.agentId = agentId;
    if (agentType !== undefined) ctx.agentType = agentType;
  }
}
