import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Counter, Histogram } from 'prom-client';
import { isProbePath, UNMATCHED_ROUTE } from '../catalog';
import { REQUEST_CONTEXT_PLUGIN, sampledSpanContext } from '../context';
import { abandonedAfterMs, CLIENT_CLOSED_REQUEST } from '../logging';
import { HTTP_SERVER_TRACING_PLUGIN } from '../telemetry';
import { HTTP_DURATION_BUCKETS, HTTP_METHODS, METRIC, OTHER_METHOD } from './metric-names';
import { ScrapeSources } from './metric-providers';
import { observeDuration } from './metrics.service';

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

/** Seam for tests of the exemplar interval. */
export const HTTP_METRICS_CLOCK = Symbol('HTTP_METRICS_CLOCK');

/**
 * http_requests_total and http_request_duration_seconds for one request,
 * on the hot path: every key is bounded (methods fold into OTHER, routes are
 * templates or `unmatched`, statuses are 3-digit codes), so the per-route
 * children are looked up in a map instead of hashing labels each time.
 */
@Injectable()
export class HttpMetricsRecorder {
  private readonly routes = new Map<string, RouteSeries>();
  private readonly now: () => number;

  constructor(
    @InjectMetric(METRIC.httpRequests)
    private readonly requests: Counter<'method' | 'endpoint' | 'status'>,
    @InjectMetric(METRIC.httpRequestDuration)
    private readonly duration: Histogram<'method' | 'endpoint'>,
    @Optional() @Inject(HTTP_METRICS_CLOCK) now?: () => number,
  ) {
    this.now = now ?? Date.now;
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
      observeDuration(this.duration, series.labels, seconds, traceId);
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
        excluded: route !== undefined && isProbePath(route),
        labels,
        duration: this.duration.labels(labels),
        byStatus: new Map(),
        exemplarAtMs: new Float64Array(HTTP_DURATION_BUCKETS.length + 1).fill(-Infinity),
      };
      this.routes.set(key, series);
    }
    return series;
  }
}

export const HTTP_METRICS_PLUGIN = 'eap-http-metrics';

export interface HttpMetricsOptions {
  readonly recorder: HttpMetricsRecorder;
  readonly sources: ScrapeSources;
  /** Capture the inbound span's trace id for exemplars (only worth it with tracing on). */
  readonly exemplars: boolean;
}

/**
 * Counts and times every request answered by this Fastify instance, from
 * routing to the last byte (Fastify's reply.elapsedTime): errors thrown by
 * guards, pipes and the body parser are counted with their status, and a
 * request its client abandoned as 499 (nginx's code) when it is abandoned.
 * Its server's open connections are active_connections.
 */
export const httpMetricsPlugin = fp(
  (
    fastify: FastifyInstance,
    { recorder, sources, exemplars }: HttpMetricsOptions,
    done: (error?: Error) => void,
  ) => {
    const traceIdOf = (request: FastifyRequest): string | undefined =>
      exemplars ? sampledSpanContext(request.requestContext?.serverSpan?.span)?.traceId : undefined;
    fastify.onRequestAnswered((request, reply) => {
      // Counted when its client left (499): a late answer to a closed socket is not counted again.
      if (request.requestContext?.abandonedAt !== undefined) return;
      recorder.record(
        request.method,
        request.routeOptions.url,
        reply.statusCode,
        reply.elapsedTime / 1000,
        traceIdOf(request),
      );
    });
    fastify.onRequestAbandoned((request) => {
      recorder.record(
        request.method,
        request.routeOptions.url,
        CLIENT_CLOSED_REQUEST,
        abandonedAfterMs(request) / 1000,
        traceIdOf(request),
      );
    });
    const server = fastify.server;
    const connections = (): Promise<number> =>
      new Promise<number>((resolve) => {
        server.getConnections((error, count) => resolve(error ? 0 : count));
      });
    sources.connections.add(connections);
    fastify.addHook('onClose', (_instance, next) => {
      sources.connections.delete(connections);
      next();
    });
    done();
  },
  {
    name: HTTP_METRICS_PLUGIN,
    fastify: '5.x',
    // After the tracing hooks: the exemplar capture reads the server span they open.
    dependencies: [REQUEST_CONTEXT_PLUGIN, HTTP_SERVER_TRACING_PLUGIN],
  },
);
