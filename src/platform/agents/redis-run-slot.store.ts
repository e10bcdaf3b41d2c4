import type Redis from 'ioredis';
import { LuaScript } from '../../redis';
import type { RunSlotStore, SlotGrant } from './run-slot-store';

// KEYS[1]: the tenant's slots, a sorted set of slot ids scored by their expiry (ms epoch).
// ARGV: slot id, limit, hold (ms). Redis' own clock, so replicas whose clocks differ agree.
// The key expires with its last slot: a tenant that stops running leaves nothing behind.
const ACQUIRE = new LuaScript(`
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
if held >= tonumber(ARGV[2]) then
  return {0, held}
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return {1, held + 1}
`);

/** Run slots in Redis: every replica takes and gives back slots of the same per-tenant set. */
export class RedisRunSlotStore implements RunSlotStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  async acquire(
    tenantId: string,
    slotId: string,
    limit: number,
    holdMs: number,
  ): Promise<SlotGrant> {
    const [granted, inFlight] = (await ACQUIRE.run(
      this.redis,
      1,
      this.key(tenantId),
      slotId,
      limit,
      holdMs,
    )) as [number, number];
    return { granted: granted === 1, inFlight };
  }

  async release(tenantId: string, slotId: string): Promise<void> {
    await this.redis.zrem(this.key(tenantId), slotId);
  }

  key(tenantId: string): string {
    return `${this.keyPrefix}run-slots:{${tenantId}}`;
  }
}
