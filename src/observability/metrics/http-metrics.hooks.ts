import type { FastifyInstance } from 'fastify';
import type { Counter } from 'prom-client';
import { sampledTraceIdOf } from '../telemetry';
import { addConnectionSource, metricFamilies, observeDuration } from './metric-families';
import type { MetricFamilies } from './metric-families';
import { HTTP_DURATION_BUCKETS, HTTP_METHODS, OTHER_METHOD, UNMATCHED_ROUTE } from './metric-names';

/** The pre-bound series of one (method, route) pair. */
interface RouteSeries {
  /** Scrapes and probes are not traffic: /metrics and /health/* are not counted. */
  readonly excluded: boolean;
  readonly labels: { readonly method: string; readonly endpoint: string };
  readonly duration: { observe(seconds: number): void };
  readonly byStatus: Map<number, { inc(): void }>;
  /** When each duration bucket (and +Inf, last) last took an exemplar. */
  readonly exemplarAtMs: Float64Array;
}

/**
 * A bucket takes a new exemplar at most this often. Each bucket shows only
 * its latest exemplar, and a scrape comes every 15 s or so: one a second keeps
 * every exemplar a scrape sees at most a second stale, and spares most
 * requests prom-client's exemplar path (label checks, an object per call),
 * several times the cost of a plain observation.
 */
export const EXEMPLAR_INTERVAL_MS = 1000;

/**
 * http_requests_total and http_request_duration_seconds for one request,
 * on the hot path: every key is bounded (methods fold into OTHER, routes are
 * templates or `unmatched`, statuses are 3-digit codes), so the per-route
 * children are looked up in a map instead of hashing labels each time.
 */
export class HttpMetricsRecorder {
  private readonly routes = new Map<string, RouteSeries>();
  private readonly requests: Counter<'method' | 'endpoint' | 'status'>;

  constructor(
    private readonly families: MetricFamilies = metricFamilies(),
    private readonly now: () => number = Date.now,
  ) {
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
    if (traceId === undefined || !this.takesExemplar(series, seconds)) {
      series.duration.observe(seconds);
    } else {
      observeDuration(this.families.httpRequestDuration, series.labels, seconds, traceId);
    }
  }

  private takesExemplar(series: RouteSeries, seconds: number): boolean {
    let bucket = 0;
    while (bucket < HTTP_DURATION_BUCKETS.length && seconds > HTTP_DURATION_BUCKETS[bucket]) {
      bucket++;
    }
    const now = this.now();
    if (now - series.exemplarAtMs[bucket] < EXEMPLAR_INTERVAL_MS) return false;
    series.exemplarAtMs[bucket] = now;
    return true;
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
        exemplarAtMs: new Float64Array(HTTP_DURATION_BUCKETS.length + 1).fill(-Infinity),
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
  fastify.addHook('onResponse', (request, reply, done) => {
    recorder.record(
      request.method,
      request.routeOptions.url,
      reply.statusCode,
      reply.elapsedTime / 1000,
      options.exemplars ? sampledTraceIdOf(request) : undefined,
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
