import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { errorBody } from '../../common';
import { scrapeMetricsRegistry } from './metrics-exposition';

/** GET /metrics as a plain node:http handler (the management listener). */
export type MetricsEndpoint = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/**
 * GET /metrics for a plain node:http server (the MANAGEMENT_PORT listener):
 * the same token check, negotiation and rendering as the API's controller.
 */
export function createMetricsEndpoint(
  registry: Registry,
  token: string | undefined,
): MetricsEndpoint {
  return async (request, response) => {
    const scrape = await scrapeMetricsRegistry(
      registry,
      { authorization: request.headers.authorization, accept: request.headers.accept },
      token,
    );
    const head = request.method === 'HEAD';
    if (scrape.status === 401) {
      const body = JSON.stringify(errorBody(401, scrape.message, undefined));
      response.writeHead(401, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        'www-authenticate': 'Bearer realm="metrics"',
        'cache-control': 'no-store',
      });
      response.end(head ? undefined : body);
      return;
    }
    response.writeHead(200, {
      'content-type': scrape.contentType,
      'content-length': Buffer.byteLength(scrape.body),
      'cache-control': 'no-store',
    });
    response.end(head ? undefined : scrape.body);
  };
}
