import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { DependencyUnavailableError } from '../../common';
import { LOG_EVENTS } from '../../observability/catalog';
import { PinoLogger } from '../../observability/logging';
import { RedisService } from '../../redis';
import { ApiKeyCache } from './api-key.cache';

const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The revocation is stored, but the other replicas could not be told (503: retry the DELETE). */
export class RevocationNotPublishedError extends DependencyUnavailableError {
  constructor(cause: unknown) {
    super(
      'revocation_channel',
      'The key is revoked, but other replicas could not be told at once (Redis is unavailable); retry the request',
      { cause },
    );
    this.name = 'RevocationNotPublishedError';
  }
}

/**
 * Revocations reach every replica's key cache through a Redis channel: a
 * revoking replica publishes the key id, every replica (itself included)
 * drops it. While the subscription is down the cache is suspended, and it
 * starts empty on every (re)subscription, since messages may have been missed
 * meanwhile. Without Redis there is one process: the cache is told directly.
 */
@Injectable()
export class ApiKeyRevocationChannel implements OnModuleInit, OnApplicationShutdown {
  private readonly subscriber: Redis | undefined;
  private readonly channel: string;
  private onSubscribed: () => void = () => undefined;
  private readonly subscribed = new Promise<void>((resolve) => (this.onSubscribed = resolve));

  constructor(
    private readonly redis: RedisService,
    private readonly cache: ApiKeyCache,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext(ApiKeyRevocationChannel.name);
    this.channel = `${redis.keyPrefix}api-key-revoked`;
    // A connection of its own: a subscribed connection can run no other command.
    this.subscriber = redis.client?.duplicate({
      connectionName: 'eap-key-revocations',
      autoResubscribe: false,
    });
    this.subscriber?.on('ready', () => void this.subscribe());
    this.subscriber?.on('close', () => this.cache.suspend());
    this.subscriber?.on('message', (channel: string, keyId: string) => {
      if (channel === this.channel && KEY_ID.test(keyId)) this.cache.invalidate(keyId);
    });
    this.subscriber?.on('error', (error: Error) => {
      if (this.subscriber?.status !== 'reconnecting')
        this.logger.warn({ event: LOG_EVENTS.redisError, err: error.message });
    });
  }

  /** Gives the first subscription a moment, so the first requests are served from the cache. */
  async onModuleInit(): Promise<void> {
    if (!this.subscriber) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.subscribed,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 3000))),
    ]);
    clearTimeout(timer);
  }

  /** Tells every replica that the key is revoked; this one's cache at once. */
  async publish(keyId: string): Promise<void> {
    this.cache.invalidate(keyId);
    if (!this.redis.client) return;
    try {
      await this.redis.client.publish(this.channel, keyId);
    } catch (error) {
      throw new RevocationNotPublishedError(error);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.subscriber) return;
    try {
      await this.subscriber.quit();
    } catch {
      this.subscriber.disconnect();
    }
  }

  private async subscribe(): Promise<void> {
    const subscriber = this.subscriber;
    if (!subscriber) return;
    try {
      await subscriber.subscribe(this.channel);
    } catch (error) {
      this.logger.warn({ event: LOG_EVENTS.redisError, err: (error as Error).message });
      // A fresh connection tries again ('ready' again); the cache stays suspended meanwhile.
      subscriber.disconnect(true);
      return;
    }
    // Only now: a revocation published from here on is heard, any earlier one is in the database.
    this.cache.resume();
    this.onSubscribed();
  }
}
