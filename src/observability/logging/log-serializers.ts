import type { SerializerFn } from 'pino';
import { isError, LOG_LIMITS, serializeError, stripUrlSecrets, truncate } from './log-sanitizer';

interface RequestLike {
  method?: unknown;
  url?: unknown;
  routeOptions?: { url?: unknown };
}

interface ResponseLike {
  statusCode?: unknown;
}

/**
 * A request as a log field: method, route template and path only. pino-http's
 * default serializer logs every header (Authorization, Cookie) and the raw URL
 * with its query string; this one cannot.
 */
export function serializeRequest(request: unknown): unknown {
  if (typeof request !== 'object' || request === null) return undefined;
  const { method, url, routeOptions } = request as RequestLike;
  return {
    method: typeof method === 'string' ? truncate(method, 16) : undefined,
    route: typeof routeOptions?.url === 'string' ? routeOptions.url : undefined,
    path: typeof url === 'string' ? truncate(stripUrlSecrets(url)) : undefined,
  };
}

/** A response as a log field: its status only (headers may carry Set-Cookie). */
export function serializeResponse(response: unknown): unknown {
  if (typeof response !== 'object' || response === null) return undefined;
  const { statusCode } = response as ResponseLike;
  return { status: typeof statusCode === 'number' ? statusCode : undefined };
}

/** `err` is usually serialised by the sanitizer already; this covers a raw Error reaching pino. */
export function serializeErrorField(error: unknown): unknown {
  return isError(error) ? serializeError(error) : error;
}

/** Messages are constant strings by convention; the bound is for the ones that are not. */
export function serializeMessage(message: unknown): unknown {
  return typeof message === 'string' ? truncate(message, LOG_LIMITS.maxMessageLength) : message;
}

export const LOG_SERIALIZERS: Record<string, SerializerFn> = {
  err: serializeErrorField,
  req: serializeRequest,
  res: serializeResponse,
  message: serializeMessage,
};
