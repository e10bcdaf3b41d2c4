import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { APP_CONFIG } from '../../config';
import type { AppConfig } from '../../config';
import { HEALTH_LOG_EVENTS } from './health.constants';
import { httpStatusOf } from './health.controller';
import { HealthService } from './health.service';
import type { HealthReport } from './health.types';
import { ShutdownState } from './shutdown-state';

/** Serves GET /metrics on the management listener; provided by the metrics module. */
export type MetricsEndpoint = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/**
 * The second listener on MANAGEMENT_PORT (SPEC section 3): the detailed
 * /health and /metrics live here, not on the port the Service exposes; the
 * probes answer here too. Plain node:http: four fixed routes need no
 * framework, and nothing here is counted in the HTTP metrics or traced.
 */
@Injectable()
export class ManagementServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ManagementServer');
  private server: Server | undefined;
  private metricsEndpoint: MetricsEndpoint | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly health: HealthService,
    private readonly shutdown: ShutdownState,
  ) {}

  /** The port it listens on (resolved when MANAGEMENT_PORT=0), or undefined when off. */
  get port(): number | undefined {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address.port : undefined;
  }

  /** Called by the metrics module to mount /metrics here. */
  useMetricsEndpoint(endpoint: MetricsEndpoint): void {
    this.metricsEndpoint = endpoint;
  }

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.managementPort;
    if (port === undefined) return;
    const server = createServer((request, response) => {
      this.handle(request, response).catch(() => {
        if (!response.headersSent) sendJson(response, 500, errorBody(500, 'Internal server error'));
        else response.destroy();
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
    this.logger.log(
      { event: HEALTH_LOG_EVENTS.managementStarted, port: this.port },
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
      sendJson(response, 404, errorBody(404, `Cannot ${method} ${path}`));
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
    sendJson(response, 404, errorBody(404, `Cannot ${method} ${path}`));
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

/** The API's error shape (SPEC section 4); there is no request context on this listener. */
function errorBody(statusCode: 404 | 500, message: string) {
  return {
    statusCode,
    error: statusCode === 404 ? 'Not Found' : 'Internal Server Error',
    message,
    request_id: undefined,
  };
}
