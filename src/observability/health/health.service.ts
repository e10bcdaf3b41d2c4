import { BeforeApplicationShutdown, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { HealthIndicatorResult } from '@nestjs/terminus';
import { HealthCheckObserver } from '../observers';
import { BACKGROUND_CHECK_INTERVAL_MS } from './health.constants';
import { scrub } from './health-failure';
import { HealthResultCache } from './health-result.cache';
import type { ComponentReport, HealthComponent, HealthReport, HealthStatus } from './health.types';
import type { ComponentIndicator } from './indicators/component-indicator';
import { DatabaseHealthIndicator } from './indicators/database.health';
import { DiskSpaceHealthIndicator } from './indicators/disk.health';
import { LlmProxyHealthIndicator } from './indicators/llm-proxy.health';
import { RedisHealthIndicator } from './indicators/redis.health';
import { ShutdownState } from './shutdown-state';

/**
 * Evaluates the configured components: in parallel, each
 * bounded by its indicator's timeout, each result shared by concurrent probes
 * and reused for a short period. Every real evaluation updates
 * health_component_up and health_check_duration_seconds; a background
 * evaluation keeps them fresh when nobody calls /health.
 */
@Injectable()
export class HealthService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly indicators: readonly ComponentIndicator[];
  private readonly cache = new HealthResultCache<HealthComponent, ComponentReport>();
  private background: NodeJS.Timeout | undefined;

  constructor(
    private readonly observer: HealthCheckObserver,
    private readonly shutdown: ShutdownState,
    database: DatabaseHealthIndicator,
    redis: RedisHealthIndicator,
    llmProxy: LlmProxyHealthIndicator,
    disk: DiskSpaceHealthIndicator,
  ) {
    this.indicators = [database, redis, llmProxy, disk].filter((indicator) => indicator.configured);
  }

  onApplicationBootstrap(): void {
    this.background = setInterval(() => {
      this.details().catch(() => undefined);
    }, BACKGROUND_CHECK_INTERVAL_MS);
    this.background.unref();
  }

  /** Before the connections close: a check then would only report the shutdown as an outage. */
  beforeApplicationShutdown(): void {
    clearInterval(this.background);
  }

  /** The process answers, so its event loop runs: nothing else is checked, so a dependency outage never restarts the pod. */
  liveness(): HealthReport {
    return { status: 'healthy', timestamp: new Date().toISOString(), components: {} };
  }

  /** Critical components only; unhealthy from the first moment of a shutdown drain. */
  async readiness(): Promise<HealthReport> {
    if (this.shutdown.draining) {
      return {
        status: 'unhealthy',
        timestamp: new Date().toISOString(),
        components: {},
        draining: true,
      };
    }
    return this.evaluate(this.indicators.filter((indicator) => indicator.critical));
  }

  /** Every configured component, with latency and a short error for the failing ones. */
  details(): Promise<HealthReport> {
    return this.evaluate(this.indicators);
  }

  private async evaluate(indicators: readonly ComponentIndicator[]): Promise<HealthReport> {
    const reports = await Promise.all(
      indicators.map((indicator) =>
        this.cache.get(indicator.component, indicator.cacheTtlMs, () => this.checkOnce(indicator)),
      ),
    );
    const components: HealthReport['components'] = {};
    let criticalDown = false;
    let anyDown = false;
    indicators.forEach((indicator, index) => {
      const report = reports[index];
      components[indicator.component] = report;
      if (report.status === 'unhealthy') {
        anyDown = true;
        criticalDown ||= indicator.critical;
      }
    });
    const status: HealthStatus = criticalDown ? 'unhealthy' : anyDown ? 'degraded' : 'healthy';
    return { status, timestamp: new Date().toISOString(), components };
  }

  private async checkOnce(indicator: ComponentIndicator): Promise<ComponentReport> {
    const started = performance.now();
    // The probes' own database queries, PINGs and fetches would otherwise be traced every few seconds.
    const result = await context.with(
      suppressTracing(context.active()),
      () =>
        new Promise<HealthIndicatorResult>((resolve, reject) => {
          indicator.check().then(resolve, reject);
        }),
    );
    const elapsedMs = performance.now() - started;
    const detail = result[indicator.component] as { status: string; message?: unknown };
    const up = detail.status === 'up';
    const latency_ms = Math.round(elapsedMs * 10) / 10;
    const error = up ? undefined : safeError(detail.message);
    this.observer.checked({ component: indicator.component, up, durationMs: elapsedMs, error });
    return error === undefined
      ? { status: 'healthy', latency_ms }
      : { status: 'unhealthy', latency_ms, error };
  }
}

function safeError(message: unknown): string {
  const text = typeof message === 'string' ? message : 'check failed';
  const timeout = /^timeout of (\d+)ms exceeded$/.exec(text);
  if (timeout) return `timed out after ${timeout[1]} ms`;
  return scrub(text) || 'check failed';
}
