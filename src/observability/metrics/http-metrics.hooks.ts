import type { FastifyInstance } from 'fastify';
import type { Counter } from 'prom-client';
import { currentTraceId } from '../telemetry';
import { addConnectionSource, metricFamilies, observeDuration } from './metric-families';
import type { MetricFamilies } from './metric-families';
import { HTTP_METHODS, OTHER_METHOD, UNMATCHED_ROUTE } from './metric-names';

declare module 'fastify' {
  interface FastifyRequest {
    /** Trace id of the inbound span, captured while it is current (exemplars). */
    metricsTraceId?: string;
  }
}

/** The pre-bound series of one (method, route) pair. */
interface RouteSeries {
  /** Scrapes and probes are not traffic: /metrics and /health/* are not counted. */
  readonly excluded: boolean;
  readonly labels: { readonly method: string; readonly endpoint: string };
  readonly duration: { observe(seconds: number): void };
  readonly byStatus: Map<number, { inc(): void }>;
}

/**
 * http_requests_total and http_request_duration_seconds for one request,
 * on the hot path: every key is bounded (methods fold into OTHER, routes are
 * templates or `unmatched`, statuses are 3-digit codes), so the per-route
 * children are looked up in a map instead of hashing labels each time.
 */
export class HttpMetricsRecorder {
  private readonly routes = new Map<string, RouteSeries>();
  private readonly requests: Counter<'method' | 'endpoint' | 'status'>;

  constructor(private readonly families: MetricFamilies = metricFamilies()) {
    this.requests = families.httpRequests;
  }

  /**
   * @param route the route template (Fastify's routeOptions.url), undefined when no route matched
   * @param traceId the request's sampled trace id, attached as exemplar
   */
  record(
    method: string,
    route: string | undefined,
    statusCode: number,
    seconds: number,
    traceId?: string,
  ): void {
    const series = this.seriesFor(HTTP_METHODS.has(method) ? method : OTHER_METHOD, route);
    if (series.excluded) return;
    let requests = series.byStatus.get(statusCode);
    if (requests === undefined) {
      requests = this.requests.labels({ ...series.labels, status: String(statusCode) });
      series.byStatus.set(statusCode, requests);
    }
    requests.inc();
    if (!(seconds >= 0 && Number.isFinite(seconds))) return;
    if (traceId === undefined) series.duration.observe(seconds);
    else observeDuration(this.families.httpRequestDuration, series.labels, seconds, traceId);
  }

  private seriesFor(method: string, route: string | undefined): RouteSeries {
    const endpoint = route ?? UNMATCHED_ROUTE;
    const key = `${method} ${endpoint}`;
    let series = this.routes.get(key);
    if (series === undefined) {
      const labels = { method, endpoint };
      series = {
        excluded: route !== undefined && isUncountedRoute(route),
        labels,
        duration: this.families.httpRequestDuration.labels(labels),
        byStatus: new Map(),
      };
      this.routes.set(key, series);
    }
    return series;
  }
}

function isUncountedRoute(route: string): boolean {
  return route === '/metrics' || route === '/health' || route.startsWith('/health/');
}

export interface HttpMetricsOptions {
  /** Capture the inbound span's trace id for exemplars (only worth it with tracing on). */
  readonly exemplars: boolean;
}

/**
 * Counts and times every request answered by this Fastify instance, from
 * routing to the last byte (Fastify's reply.elapsedTime): errors thrown by
 * guards, pipes and the body parser are counted with their status. Register
 * before the routes (in bootstrap), and only when METRICS_ENABLED.
 */
export function registerHttpMetrics(fastify: FastifyInstance, options: HttpMetricsOptions): void {
  const recorder = new HttpMetricsRecorder();
  if (options.exemplars) {
    fastify.decorateRequest('metricsTraceId', undefined);
    // The inbound span is current while onRequest runs; by onResponse it may have ended.
    fastify.addHook('onRequest', (request, _reply, done) => {
      request.metricsTraceId = currentTraceId();
      done();
    });
  }
  fastify.addHook('onResponse', (request, reply, done) => {
    recorder.record(
      request.method,
      request.routeOptions.url,
      reply.statusCode,
      reply.elapsedTime / 1000,
      request.metricsTraceId,
    );
    done();
  });
  const server = fastify.server;
  const removeSource = addConnectionSource(
    () =>
      new Promise<number>((resolve) => {
        server.getConnections((error, count) => resolve(error ? 0 : count));
      }),
  );
  fastify.addHook('onClose', (_instance, done) => {
    removeSource();
    done();
  });
}
