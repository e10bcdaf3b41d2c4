import { Logger } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { HealthCheckObserver } from '../observers';
import { BACKGROUND_CHECK_INTERVAL_MS } from './health.constants';
import { HealthCheckFailure } from './health-failure';
import { HealthService } from './health.service';
import type { HealthComponent } from './health.types';
import type { ComponentIndicator } from './indicators/component-indicator';
import { ShutdownState } from './shutdown-state';

type Outcome = 'up' | 'down' | 'hang';

const terminus = new HealthIndicatorService();

/** An indicator built on Terminus' HealthIndicatorService whose outcome the test sets. */
class ScriptedIndicator implements ComponentIndicator {
  outcome: Outcome = 'up';
  calls = 0;

  constructor(
    readonly component: HealthComponent,
    readonly critical: boolean,
    readonly configured = true,
    readonly cacheTtlMs = 0,
  ) {}

  check(): PromiseLike<HealthIndicatorResult> {
    return terminus
      .check(this.component)
      .attempt(() => {
        this.calls++;
        if (this.outcome === 'down') throw new HealthCheckFailure('connection refused');
        if (this.outcome === 'hang') return new Promise<void>(() => undefined);
        return undefined;
      })
      .withTimeout(50);
  }
}

describe(HealthService.name, () => {
  beforeAll(() => Logger.overrideLogger(false));

  let database: ScriptedIndicator;
  let redis: ScriptedIndicator;
  let llm: ScriptedIndicator;
  let disk: ScriptedIndicator;
  let shutdown: ShutdownState;
  let checked: jest.Mock;
  let service: HealthService;

  function build(): HealthService {
    const observer = { checked } as unknown as HealthCheckObserver;
    // The constructor takes the four concrete indicators; these stand in for them.
    const Service = HealthService as unknown as new (...args: unknown[]) => HealthService;
    return new Service(observer, shutdown, database, redis, llm, disk);
  }

  /** The components and outcomes the observer was told of, in order. */
  const reported = () =>
    checked.mock.calls.map(([report]: [{ component: string; up: boolean }]) => [
      report.component,
      report.up,
    ]);

  beforeEach(() => {
    database = new ScriptedIndicator('database', true);
    redis = new ScriptedIndicator('redis', true);
    llm = new ScriptedIndicator('llm_proxy', false);
    disk = new ScriptedIndicator('disk', false);
    shutdown = new ShutdownState();
    checked = jest.fn();
    service = build();
  });

  it('is healthy when every component is up', async () => {
    const report = await service.details();
    expect(report.status).toBe('healthy');
    expect(Object.keys(report.components)).toEqual(['database', 'redis', 'llm_proxy', 'disk']);
  });

  it('is degraded when only non-critical components are down', async () => {
    llm.outcome = 'down';
    disk.outcome = 'down';
    const report = await service.details();
    expect(report.status).toBe('degraded');
    expect(report.components.llm_proxy).toEqual({
      status: 'unhealthy',
      latency_ms: expect.any(Number),
      error: 'connection refused',
    });
  });

  it('is unhealthy when a critical component is down, whatever the others say', async () => {
    redis.outcome = 'down';
    llm.outcome = 'down';
    expect((await service.details()).status).toBe('unhealthy');
  });

  it('bounds a hung component by its timeout', async () => {
    database.outcome = 'hang';
    const report = await service.readiness();
    expect(report.status).toBe('unhealthy');
    expect(report.components.database?.error).toBe('timed out after 50 ms');
  });

  it('checks only critical components for readiness', async () => {
    llm.outcome = 'down';
    const report = await service.readiness();
    expect(report.status).toBe('healthy');
    expect(Object.keys(report.components)).toEqual(['database', 'redis']);
    expect(llm.calls).toBe(0);
  });

  it('answers readiness unhealthy without checking anything while draining', async () => {
    shutdown.startDraining();
    const report = await service.readiness();
    expect(report).toMatchObject({ status: 'unhealthy', components: {}, draining: true });
    expect(database.calls + redis.calls).toBe(0);
  });

  it('scrubs addresses from a failure message an indicator did not translate', async () => {
    const raw = new ScriptedIndicator('redis', true);
    raw.check = () =>
      terminus
        .check('redis')
        .attempt(() => {
          throw new Error('connect ECONNREFUSED 10.0.0.1:6379');
        })
        .withTimeout(50);
    redis = raw;
    service = build();
    const report = await service.details();
    expect(report.components.redis?.error).toBe('connect ECONNREFUSED [address]');
  });

  it('checks nothing for liveness', () => {
    redis.outcome = 'down';
    expect(service.liveness().status).toBe('healthy');
    expect(redis.calls).toBe(0);
  });

  it('leaves out components that are not configured', async () => {
    redis = new ScriptedIndicator('redis', true, false);
    llm = new ScriptedIndicator('llm_proxy', false, false);
    service = build();
    expect(Object.keys((await service.details()).components)).toEqual(['database', 'disk']);
  });

  it('records up and duration for every real evaluation, once per evaluation', async () => {
    database = new ScriptedIndicator('database', true, true, 60_000);
    redis.outcome = 'down';
    service = build();
    await Promise.all([service.details(), service.readiness(), service.details()]);
    expect(reported().filter(([component]) => component === 'database')).toEqual([
      ['database', true],
    ]);
    expect(checked).toHaveBeenCalledWith({
      component: 'redis',
      up: false,
      durationMs: expect.any(Number),
      error: 'connection refused',
    });
    expect(database.calls).toBe(1);
  });

  it('evaluates every component in the background until shutdown', async () => {
    jest.useFakeTimers();
    try {
      service.onApplicationBootstrap();
      await jest.advanceTimersByTimeAsync(BACKGROUND_CHECK_INTERVAL_MS);
      expect(llm.calls).toBe(1);
      expect(reported()).toContainEqual(['llm_proxy', true]);
      service.beforeApplicationShutdown();
      await jest.advanceTimersByTimeAsync(BACKGROUND_CHECK_INTERVAL_MS * 3);
      expect(llm.calls).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });
});
