import {
  Inject,
  Injectable,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { errorBody } from '../../common';
import { APP_CONFIG } from '../../config';
import type { AppConfig } from '../../config';
import { LOG_EVENTS } from '../catalog';
import { HealthService, httpStatusOf, ShutdownState } from '../health';
import type { HealthReport } from '../health';
import { PinoLogger } from '../logging';
import { createMetricsEndpoint, METRICS_REGISTRY } from '../metrics';
import type { MetricsEndpoint } from '../metrics';

/**
 * The second listener on MANAGEMENT_PORT: the detailed /health and /metrics
 * live here, not on the port the Service exposes; the probes answer here too.
 * Plain node:http: four fixed routes need no framework, and nothing here is
 * counted in the HTTP metrics or traced.
 */
@Injectable()
export class ManagementServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: Server | undefined;
  private readonly metricsEndpoint: MetricsEndpoint | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly health: HealthService,
    private readonly shutdown: ShutdownState,
    private readonly logger: PinoLogger,
    // Absent with METRICS_ENABLED=false: /metrics then answers 404 here too.
    @Optional() @Inject(METRICS_REGISTRY) registry?: Registry,
  ) {
    logger.setContext('ManagementServer');
    this.metricsEndpoint = registry && createMetricsEndpoint(registry, config.metrics.token);
  }

  /** The port it listens on (resolved when MANAGEMENT_PORT=0), or undefined when off. */
  get port(): number | undefined {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address.port : undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.managementPort;
    if (port === undefined) return;
    const server = createServer((request, response) => {
      this.handle(request, response).catch(() => {
        if (!response.headersSent) {
          sendJson(response, 500, errorBody(500, 'Internal server error', undefined));
        } else {
          response.destroy();
        }
      });
    });
    // A management scrape or probe that stalls must not hold a socket for minutes.
    server.requestTimeout = 30_000;
    server.headersTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.config.http.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.logger.info(
      { event: LOG_EVENTS.managementStarted, port: this.port },
      'Management listener up (/health, /metrics)',
    );
  }

  /** After the drain and the API listener: the probes keep answering until the very end. */
  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // As on the API listener: a keep-alive connection must not hold the close open.
    if (this.shutdown.draining) response.setHeader('connection', 'close');
    const method = request.method ?? 'GET';
    const path = (request.url ?? '/').split('?', 1)[0];
    if (method !== 'GET' && method !== 'HEAD') {
      sendJson(response, 404, errorBody(404, `Cannot ${method} ${path}`, undefined));
      return;
    }
    switch (path) {
      case '/health/live':
        return sendReport(response, this.health.liveness());
      case '/health/ready':
        return sendReport(response, await this.health.readiness());
      case '/health':
        return sendReport(response, await this.health.details());
      case '/metrics':
        if (this.metricsEndpoint) return this.metricsEndpoint(request, response);
        break;
    }
    sendJson(response, 404, errorBody(404, `Cannot ${method} ${path}`, undefined));
  }
}

function sendReport(response: ServerResponse, report: HealthReport): void {
  sendJson(response, httpStatusOf(report), report);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
  });
  response.end(response.req.method === 'HEAD' ? undefined : payload);
}
