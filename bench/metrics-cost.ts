import { Module } from '@nestjs/common';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Registry } from 'prom-client';
import { ConfigModule, loadConfig } from '../src/config';
import { createRootLogger, LoggingModule } from '../src/observability/logging';
import {
  HttpMetricsRecorder,
  METRICS_REGISTRY,
  MetricsModule,
  MetricsService,
} from '../src/observability/metrics';
import { renderMetrics } from '../src/observability/metrics/metrics-exposition';
import type { ExpositionFormat } from '../src/observability/metrics/metrics-exposition';

export interface MetricsCostOptions {
  /** Timed renders of the whole registry; the median is reported. */
  readonly renders?: number;
  /** Timed HTTP metric recordings. */
  readonly requests?: number;
  readonly format?: ExpositionFormat;
}

export interface MetricsCost {
  /** Median time to render the registry, in milliseconds. */
  readonly renderMs: number;
  /** Lines in the rendered exposition. */
  readonly renderLines: number;
  /** Mean cost of recording one request's HTTP metrics, in microseconds. */
  readonly recordRequestMicros: number;
}

const ROUTES = ['/v1/info', '/v1/agents', '/v1/agents/:id', '/v1/agents/:id/runs', '/v1/budget'];
const STATUSES = [200, 201, 400, 401, 404];

/**
 * The application's metrics module on its own, as the app builds it (same
 * providers, same registry), with `tenants` tenants' daily and monthly budget
 * series in it.
 */
export class MetricsBench {
  private constructor(
    private readonly context: INestApplicationContext,
    readonly registry: Registry,
    private readonly recorder: HttpMetricsRecorder,
  ) {}

  static async create(tenants: number): Promise<MetricsBench> {
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      METRICS_MAX_TENANTS: String(Math.max(1, tenants)),
    });
    @Module({
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(createRootLogger(config)),
        MetricsModule.forRoot(config),
      ],
    })
    class MetricsOnly {}
    const context = await NestFactory.createApplicationContext(MetricsOnly, { logger: false });
    const metrics = context.get(MetricsService);
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
    return new MetricsBench(
      context,
      context.get<Registry>(METRICS_REGISTRY),
      context.get(HttpMetricsRecorder),
    );
  }

  render(format: ExpositionFormat): Promise<string> {
    return renderMetrics(this.registry, format);
  }

  /** Rendering /metrics, and recording one request through the recorder the Fastify hook calls. */
  async measure(options: MetricsCostOptions = {}): Promise<MetricsCost> {
    const { renders = 30, requests = 200_000, format = 'prometheus' } = options;
    const record = (i: number): void =>
      this.recorder.record('GET', ROUTES[i % ROUTES.length], STATUSES[i % STATUSES.length], 0.003);

    // Warm-up: every series exists and the code paths are optimised before timing.
    for (let i = 0; i < 10_000; i++) record(i);
    let text = '';
    for (let i = 0; i < 3; i++) text = await this.render(format);

    const timings: number[] = [];
    for (let i = 0; i < renders; i++) {
      const started = performance.now();
      text = await this.render(format);
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

  close(): Promise<void> {
    return this.context.close();
  }
}
