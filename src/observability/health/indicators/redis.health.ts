import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type Redis from 'ioredis';
import { once } from 'node:events';
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
export class RedisHealthIndicator implements ComponentIndicator, OnApplicationShutdown {
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

  check() {
    return this.health
      .check(this.component)
      .attempt(async ({ signal }) => {
        const client = this.client;
        if (!client) throw new HealthCheckFailure('not configured');
        try {
          // A connect in progress (the first one, or a reconnect) may succeed within the bound:
          // wait for it rather than report a Redis that is merely still connecting.
          if (client.status === 'connecting' || client.status === 'connect') {
            await once(client, 'ready', { signal });
          }
          await client.ping();
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
