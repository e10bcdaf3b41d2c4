import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { DependencyUnavailableError, isUuid } from '../../common';
import { PinoLogger } from '../../observability/logging';
import { RedisChannel, RedisService } from '../../redis';
import { ApiKeyCache } from './api-key.cache';

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
  private readonly channel: RedisChannel;

  constructor(
    redis: RedisService,
    private readonly cache: ApiKeyCache,
    logger: PinoLogger,
  ) {
    logger.setContext(ApiKeyRevocationChannel.name);
    this.channel = new RedisChannel(redis, logger, {
      name: 'api-key-revoked',
      connectionName: 'eap-key-revocations',
      accepts: isUuid,
      onMessage: (keyId) => cache.invalidate(keyId),
      // Only now: a revocation published from here on is heard, any earlier one is in the database.
      onSubscribed: () => cache.resume(),
      onClosed: () => cache.suspend(),
    });
  }

  /** Gives the first subscription a moment, so the first requests are served from the cache. */
  onModuleInit(): Promise<void> {
    return this.channel.waitForFirstSubscription();
  }

  /** Tells every replica that the key is revoked; this one's cache at once. */
  async publish(keyId: string): Promise<void> {
    this.cache.invalidate(keyId);
    try {
      await this.channel.publish(keyId);
    } catch (error) {
      throw new RevocationNotPublishedError(error);
    }
  }

  onApplicationShutdown(): Promise<void> {
    return this.channel.close();
  }
}
