import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { currentRequestContext } from '../observability/context';
import { isDatabaseUnavailableError } from '../database/database-errors';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  request_id: string | undefined;
  /** A stored run that ended in this error (429, 502, 503 answers of POST /v1/agents/:id/runs). */
  run?: unknown;
}

/**
 * Every error leaves as {"statusCode","error","message","request_id"}: no
 * stack traces, no internals. Unexpected errors are logged once, here, with
 * their stack.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const body = toErrorBody(exception, currentRequestContext()?.requestId);
    if (!(exception instanceof HttpException) && isDatabaseUnavailableError(exception)) {
      // An outage, not a bug: one short line without the stack, the health probe tells the rest.
      this.logger.warn(
        {
          event: 'database.unavailable',
          error: (exception as Error).message,
          route: request.routeOptions?.url,
        },
        'Database unavailable',
      );
    } else if (body.statusCode >= 500 && !(exception instanceof HttpException)) {
      this.logger.error(
        { event: 'http.request.failed', err: exception, route: request.routeOptions?.url },
        'Unhandled error',
      );
    }
    const headers = exception instanceof HttpException ? responseHeaders(exception) : {};
    void reply.status(body.statusCode).headers(headers).send(body);
  }
}

/** Headers an exception asks for (Retry-After on 429), carried on its response object. */
function responseHeaders(exception: HttpException): Record<string, string> {
  const response = exception.getResponse();
  if (typeof response === 'object' && response !== null && 'headers' in response) {
    return (response as { headers: Record<string, string> }).headers;
  }
  return {};
}

export function toErrorBody(exception: unknown, requestId: string | undefined): ErrorBody {
  if (exception instanceof HttpException) {
    const statusCode = exception.getStatus();
    const body: ErrorBody = {
      statusCode,
      error: reasonPhrase(statusCode),
      message: messageOf(exception),
      request_id: requestId,
    };
    const response = exception.getResponse();
    if (typeof response === 'object' && response !== null && 'run' in response)
      body.run = response.run;
    return body;
  }
  if (isDatabaseUnavailableError(exception)) {
    // A dropped or refused database connection is transient: 503 tells the client to retry.
    return {
      statusCode: HttpStatus.SERVICE_UNAVAILABLE,
      error: reasonPhrase(HttpStatus.SERVICE_UNAVAILABLE),
      message: 'The database is unavailable; try again shortly',
      request_id: requestId,
    };
  }
  const fastifyStatus = fastifyErrorStatus(exception);
  if (fastifyStatus !== undefined) {
    return {
      statusCode: fastifyStatus,
      error: reasonPhrase(fastifyStatus),
      message: (exception as Error).message,
      request_id: requestId,
    };
  }
  return {
    statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
    error: reasonPhrase(500),
    message: 'Internal server error',
    request_id: requestId,
  };
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

function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}
