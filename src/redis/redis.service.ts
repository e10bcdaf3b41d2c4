import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_CONFIG } from '../config';
import type { AppConfig } from '../config';
import { LOG_EVENTS } from '../observability/catalog';
import { PinoLogger } from '../observability/logging';

/**
 * The shared Redis connection when REDIS_URL is set. Without it `client` is
 * undefined and callers use their in-process fallback (one replica only).
 *
 * Commands fail fast instead of queueing while disconnected, so a dead Redis
 * turns into a clear error within `commandTimeout` rather than a hung request;
 * ioredis keeps reconnecting in the background, so recovery needs no restart.
 */
@Injectable()
export class RedisService implements OnModuleInit, OnApplicationShutdown {
  readonly client: Redis | undefined;
  readonly keyPrefix: string;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext(RedisService.name);
    this.keyPrefix = config.redis.keyPrefix;
    if (config.redis.url) {
      this.client = createRedisClient(config.redis.url, 'app');
      this.client.on('error', (error: Error) => {
        // ioredis emits an error per failed reconnect; one warning per state change is enough.
        if (this.client?.status !== 'reconnecting')
          this.logger.warn({ event: LOG_EVENTS.redisError, err: error.message });
      });
    }
  }

  /** Gives the first connect a moment so early requests do not fail; a dead Redis does not block start-up. */
  async onModuleInit(): Promise<void> {
    const client = this.client;
    if (!client || client.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        client.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, 3000);
      client.once('ready', done);
    });
  }

  get configured(): boolean {
    return this.client !== undefined;
  }

  /** Closed after the drain (never in onModuleDestroy) so in-flight runs can finish their ledger writes. */
  async onApplicationShutdown(): Promise<void> {
    if (!this.client) return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}

/** A client whose every command is bounded: no offline queue, a command timeout, capped backoff. */
export function createRedisClient(url: string, name: string, commandTimeoutMs = 2000): Redis {
  return new Redis(url, {
    connectionName: `eap-${name}`,
    lazyConnect: false,
    enableOfflineQueue: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
}
