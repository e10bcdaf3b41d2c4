import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DependencyUnavailableError, errorBody, FailureWithRecord } from '../common';
import type { ErrorBody } from '../common';
import { isDatabaseUnavailableError } from '../database';
import { LOG_EVENTS } from '../observability/catalog';
import { currentRequestContext } from '../observability/context';
import { PinoLogger } from '../observability/logging';
import { BodyRejectedException } from './json-body.parser';

/**
 * Every error leaves as {"statusCode","error","message","request_id"}: no
 * stack traces, no internals. This is the one place that turns failures into
 * statuses: HTTP exceptions keep theirs, a dependency that cannot answer is
 * 503, Fastify's client errors keep their 4xx, anything else is 500 and is
 * logged once, here, with its stack. A failure that carries a record (a
 * failed run) answers with it.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  constructor(private readonly logger: PinoLogger) {
    logger.setContext('HttpExceptionFilter');
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const failure = exception instanceof FailureWithRecord ? exception.failure : exception;
    const body = answerBody(exception, currentRequestContext()?.requestId);
    if (failure instanceof BodyRejectedException) {
      // A client's mistake, but one worth seeing: a pattern of them is a misbehaving or hostile client.
      this.logger.warn(
        {
          event: LOG_EVENTS.httpRequestRejected,
          reason: body.message,
          route: request.routeOptions?.url,
        },
        'Request body refused',
      );
    } else if (isDatabaseOutage(failure)) {
      // An outage, not a bug: one short line without the stack, the health probe tells the rest.
      this.logger.warn(
        {
          event: LOG_EVENTS.databaseUnavailable,
          error: (failure as Error).message,
          route: request.routeOptions?.url,
        },
        'Database unavailable',
      );
    } else if (
      body.statusCode >= 500 &&
      !(failure instanceof HttpException) &&
      !(failure instanceof DependencyUnavailableError)
    ) {
      this.logger.error(
        { event: LOG_EVENTS.httpRequestFailed, err: failure, route: request.routeOptions?.url },
        'Unhandled error',
      );
    }
    const headers = failure instanceof HttpException ? responseHeaders(failure) : {};
    void reply.status(body.statusCode).headers(headers).send(body);
  }
}

/**
 * The body of the answer to a failure: the error body, with the record of a
 * failure that carries one. Also what a streamed run's last event carries.
 */
export function answerBody(exception: unknown, requestId: string | undefined): ErrorBody {
  const failure = exception instanceof FailureWithRecord ? exception.failure : exception;
  const body = toErrorBody(failure, requestId);
  if (exception instanceof FailureWithRecord) Object.assign(body, exception.record);
  return body;
}

/** Headers an exception asks for (Retry-After on 429), carried on its response object. */
function responseHeaders(exception: HttpException): Record<string, string> {
  const response = exception.getResponse();
  if (typeof response === 'object' && response !== null && 'headers' in response) {
    return (response as { headers: Record<string, string> }).headers;
  }
  return {};
}

/** What a client sending a body of any type but JSON is told. */
const JSON_ONLY = 'Unsupported Media Type: send Content-Type: application/json with a JSON body';

export function toErrorBody(exception: unknown, requestId: string | undefined): ErrorBody {
  if (exception instanceof HttpException) {
    const status: number = exception.getStatus();
    const message = status === 415 ? JSON_ONLY : messageOf(exception);
    return errorBody(status, message, requestId);
  }
  if (exception instanceof DependencyUnavailableError) {
    return errorBody(HttpStatus.SERVICE_UNAVAILABLE, exception.message, requestId);
  }
  if (isDatabaseOutage(exception)) {
    // A dropped or refused database connection is transient: 503 tells the client to retry.
    return errorBody(
      HttpStatus.SERVICE_UNAVAILABLE,
      'The database is unavailable; try again shortly',
      requestId,
    );
  }
  const fastifyStatus = fastifyErrorStatus(exception);
  if (fastifyStatus === HttpStatus.UNSUPPORTED_MEDIA_TYPE) {
    return errorBody(fastifyStatus, JSON_ONLY, requestId);
  }
  if (fastifyStatus !== undefined) {
    return errorBody(fastifyStatus, (exception as Error).message, requestId);
  }
  return errorBody(HttpStatus.INTERNAL_SERVER_ERROR, 'Internal server error', requestId);
}

/** A database driver's error that means the server is gone, not that the query is wrong. */
function isDatabaseOutage(exception: unknown): boolean {
  return !(exception instanceof HttpException) && isDatabaseUnavailableError(exception);
}

function messageOf(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  if (typeof message === 'string') return message;
  return exception.message;
}

/** Fastify's own client errors (bad JSON, body too large, bad content type) keep their 4xx status. */
function fastifyErrorStatus(exception: unknown): number | undefined {
  if (!(exception instanceof Error)) return undefined;
  const { statusCode, code } = exception as Error & { statusCode?: number; code?: string };
  if (
    typeof code === 'string' &&
    code.startsWith('FST_') &&
    typeof statusCode === 'number' &&
    statusCode >= 400 &&
    statusCode < 500
  ) {
    return statusCode;
  }
  return undefined;
}
