import type { Socket } from 'node:net';
import { errorBody } from '../common';
import { generateRequestId } from '../observability/context';

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser refuses a request that
 * is not valid HTTP (a bare CR or LF or a NUL in a header, headers over the
 * size limit, a stalled request) before any route or hook runs. Fastify's
 * default answer has no X-Request-ID and no request_id; this one gives the
 * same error shape as every other answer, with a fresh request id (nothing
 * from such a request is trusted, its own X-Request-ID included).
 */
export function handleClientError(error: Error & { code?: string }, socket: Socket): void {
  // The peer is gone: nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const statusCode =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? 408
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? 431
        : 400;
  const requestId = generateRequestId();
  const body = errorBody(
    statusCode,
    statusCode === 408
      ? 'The request was not received in time'
      : statusCode === 431
        ? 'The request headers are too large'
        : 'The request is not valid HTTP',
    requestId,
  );
  const payload = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${statusCode} ${body.error}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(payload)}\r\n` +
        `X-Request-ID: ${requestId}\r\n` +
        `Connection: close\r\n\r\n${payload}`,
    );
  }
  socket.destroy(error);
}
