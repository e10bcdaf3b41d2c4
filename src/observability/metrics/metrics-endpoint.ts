import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { APP_CONFIG } from '../../config';
import type { AppConfig } from '../../config';
import { scrapeMetricsRegistry } from './metrics-exposition';

/**
 * GET /metrics for a plain node:http server (the MANAGEMENT_PORT listener):
 * the same token check, negotiation and rendering as the API's controller.
 */
export function createMetricsEndpoint(
  token: string | undefined,
): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  return async (request, response) => {
    const scrape = await scrapeMetricsRegistry(
      { authorization: request.headers.authorization, accept: request.headers.accept },
      token,
    );
    const head = request.method === 'HEAD';
    if (scrape.status === 401) {
      const body = JSON.stringify({
        statusCode: 401,
        error: 'Unauthorized',
        message: scrape.message,
        request_id: undefined,
      });
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

/** What the health module's management listener offers (ManagementServer.useMetricsEndpoint). */
interface MetricsEndpointHost {
  useMetricsEndpoint(
    endpoint: (request: IncomingMessage, response: ServerResponse) => Promise<void>,
  ): void;
}

function isMetricsEndpointHost(instance: unknown): instance is MetricsEndpointHost {
  return (
    typeof instance === 'object' &&
    instance !== null &&
    typeof (instance as Partial<MetricsEndpointHost>).useMetricsEndpoint === 'function'
  );
}

/**
 * With MANAGEMENT_PORT, /metrics is served only by the health module's
 * management listener: this mounts the endpoint there before it listens.
 * The listener is found by its capability, not its class: the health module
 * imports this one, so importing it back would be a cycle.
 */
@Injectable()
export class ManagementMetricsMount implements OnModuleInit {
  private readonly logger = new Logger('MetricsModule');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly discovery: DiscoveryService,
  ) {}

  onModuleInit(): void {
    const host = this.discovery
      .getProviders()
      .map((wrapper) => wrapper.instance as unknown)
      .find(isMetricsEndpointHost);
    if (!host) {
      this.logger.warn(
        { event: 'metrics.management.unavailable' },
        'MANAGEMENT_PORT is set but no management listener exists: /metrics is not served',
      );
      return;
    }
    host.useMetricsEndpoint(createMetricsEndpoint(this.config.metrics.token));
  }
}
