import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type Redis from 'ioredis';
import { APP_CONFIG } from '../../../config';
import type { AppConfig } from '../../../config';
import { createRedisClient } from '../../../redis';
import { DEPENDENCY_CHECK_TTL_MS } from '../health.constants';
import { describeFailure, HealthCheckFailure } from '../health-failure';
import type { ComponentIndicator } from './component-indicator';

/**
 * PING on a dedicated client: no offline queue and a command timeout, so a
 * dead Redis fails the check at once and a hung one within the bound, instead
 * of waiting through ioredis' reconnects. Its own connection also keeps the
 * probe from queueing behind the application's commands.
 */
@Injectable()
export class RedisHealthIndicator
  implements ComponentIndicator, OnModuleInit, OnApplicationShutdown
{
  readonly component = 'redis';
  readonly critical = true;
  readonly cacheTtlMs = DEPENDENCY_CHECK_TTL_MS;
  private readonly client: Redis | undefined;
  private readonly timeoutMs: number;

  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.timeoutMs = config.health.checkTimeoutMs;
    if (config.redis.url) {
      this.client = createRedisClient(config.redis.url, 'health', this.timeoutMs);
      // Failures surface through the check (and its metric); ioredis would otherwise print every reconnect error.
      this.client.on('error', () => undefined);
    }
  }

  get configured(): boolean {
    return this.client !== undefined;
  }

  /** Lets the first connect finish so the first probe does not report a Redis that is merely still connecting. */
  async onModuleInit(): Promise<void> {
    const client = this.client;
    if (!client || client.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        client.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, this.timeoutMs);
      client.once('ready', done);
    });
  }

  check() {
    return this.health
      .check(this.component)
      .attempt(async () => {
        if (!this.client) throw new HealthCheckFailure('not configured');
        try {
          await this.client.ping();
        } catch (error) {
          throw new HealthCheckFailure(describeFailure(error));
        }
      })
      .withTimeout(this.timeoutMs);
  }

  /** After the drain: probes keep working while in-flight requests finish. */
  onApplicationShutdown(): void {
    this.client?.disconnect();
  }
}
