import type Redis from 'ioredis';
import { LOG_EVENTS } from '../observability/catalog';
import type { PinoLogger } from '../observability/logging';
import type { RedisService } from './redis.service';

/** How long start-up waits for the first subscription before it goes on without it. */
const FIRST_SUBSCRIPTION_WAIT_MS = 3000;

export interface RedisChannelOptions {
  /** The channel's name after the key prefix. */
  readonly name: string;
  /** The subscriber connection's name, as Redis lists it (CLIENT LIST). */
  readonly connectionName: string;
  /** Only messages this accepts reach `onMessage`: anyone with access to Redis can publish. */
  readonly accepts: (message: string) => boolean;
  readonly onMessage: (message: string) => void;
  /** After every (re)subscription: a message published from then on is heard. */
  readonly onSubscribed?: () => void;
  /** When the subscriber connection closes: messages may be missed until `onSubscribed`. */
  readonly onClosed?: () => void;
}

/**
 * A Redis channel every replica listens to, on a connection of its own (a
 * subscribed connection can run no other command). It subscribes on every
 * 'ready' itself, since ioredis' own resubscription would not tell when
 * messages could have been missed, and a failed subscription starts a fresh
 * connection. Without Redis there is no channel: `publish` says so and the
 * caller's process is the whole story.
 */
export class RedisChannel {
  private readonly subscriber: Redis | undefined;
  private readonly channel: string;
  private onFirstSubscription: () => void = () => undefined;
  private readonly firstSubscription = new Promise<void>(
    (resolve) => (this.onFirstSubscription = resolve),
  );

  constructor(
    private readonly redis: RedisService,
    private readonly logger: PinoLogger,
    private readonly options: RedisChannelOptions,
  ) {
    this.channel = `${redis.keyPrefix}${options.name}`;
    this.subscriber = redis.client?.duplicate({
      connectionName: options.connectionName,
      autoResubscribe: false,
    });
    this.subscriber?.on('ready', () => void this.subscribe());
    if (options.onClosed) this.subscriber?.on('close', options.onClosed);
    this.subscriber?.on('message', (channel: string, message: string) => {
      if (channel === this.channel && options.accepts(message)) options.onMessage(message);
    });
    this.subscriber?.on('error', (error: Error) => {
      // ioredis emits an error per failed reconnect; one warning per state change is enough.
      if (this.subscriber?.status !== 'reconnecting')
        this.logger.warn({ event: LOG_EVENTS.redisError, err: error.message });
    });
  }

  /** Gives the first subscription a moment at start-up; a dead Redis does not block it. */
  async waitForFirstSubscription(): Promise<void> {
    if (!this.subscriber) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.firstSubscription,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, FIRST_SUBSCRIPTION_WAIT_MS))),
    ]);
    clearTimeout(timer);
  }

  /**
   * Publishes to every replica, this one included.
   * @returns false without Redis (there is no other replica to tell)
   * @throws the Redis error when Redis is configured but cannot take it
   */
  async publish(message: string): Promise<boolean> {
    if (!this.redis.client) return false;
    await this.redis.client.publish(this.channel, message);
    return true;
  }

  async close(): Promise<void> {
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
      // A fresh connection tries again ('ready' again).
      subscriber.disconnect(true);
      return;
    }
    this.options.onSubscribed?.();
    this.onFirstSubscription();
  }
}
