import { loadConfig } from '../../config';
import { HttpMetricsRecorder } from './http-metrics.hooks';
import { renderMetrics } from './metrics-exposition';
import type { ExpositionFormat } from './metrics-exposition';
import { MetricsService } from './metrics.service';

export interface MetricsCostOptions {
  /** Tenants whose daily and monthly budget series are exposed (SPEC 11: 1,000). */
  readonly tenants?: number;
  /** Timed renders of the whole registry; the median is reported. */
  readonly renders?: number;
  /** Timed HTTP metric recordings. */
  readonly requests?: number;
  readonly format?: ExpositionFormat;
}

export interface MetricsCost {
  /** Median time to render the registry, in milliseconds (SPEC 11 target: < 25 ms). */
  readonly renderMs: number;
  /** Lines in the rendered exposition. */
  readonly renderLines: number;
  /** Mean cost of recording one request's HTTP metrics, in microseconds (target: < 5 µs). */
  readonly recordRequestMicros: number;
}

const ROUTES = ['/v1/info', '/v1/agents', '/v1/agents/:id', '/v1/agents/:id/runs', '/v1/budget'];
const STATUSES = [200, 201, 400, 401, 404];

/**
 * The two numbers the benchmark reports for metrics, measured in this
 * process on the global registry (run it in a process of its own): rendering
 * /metrics with `tenants` tenants' budget series, and recording one request
 * through the same recorder the Fastify hook calls.
 */
export async function measureMetricsCost(options: MetricsCostOptions = {}): Promise<MetricsCost> {
  const { tenants = 1000, renders = 30, requests = 200_000, format = 'prometheus' } = options;
  const metrics = new MetricsService(
    loadConfig({ NODE_ENV: 'test', METRICS_MAX_TENANTS: String(Math.max(1, tenants)) }),
  );
  for (let i = 0; i < tenants; i++) {
    const tenantId = `tenant-${i.toString().padStart(5, '0')}`;
    metrics.updateTokenBudget({
      tenantId,
      period: 'daily',
      used: i,
      remaining: 1e6 - i,
      limit: 1e6,
    });
    metrics.updateTokenBudget({
      tenantId,
      period: 'monthly',
      used: i,
      remaining: 1e7 - i,
      limit: 1e7,
    });
  }
  const recorder = new HttpMetricsRecorder();
  const record = (i: number): void =>
    recorder.record('GET', ROUTES[i % ROUTES.length], STATUSES[i % STATUSES.length], 0.003);

  // Warm-up: every series exists and the code paths are optimised before timing.
  for (let i = 0; i < 10_000; i++) record(i);
  let text = '';
  for (let i = 0; i < 3; i++) text = await renderMetrics(format);

  const timings: number[] = [];
  for (let i = 0; i < renders; i++) {
    const started = performance.now();
    text = await renderMetrics(format);
    timings.push(performance.now() - started);
  }
  timings.sort((a, b) => a - b);

  const started = performance.now();
  for (let i = 0; i < requests; i++) record(i);
  const recordMs = performance.now() - started;

  return {
    renderMs: timings[Math.floor(timings.length / 2)],
    renderLines: text.split('\n').length,
    recordRequestMicros: (recordMs * 1000) / requests,
  };
}
