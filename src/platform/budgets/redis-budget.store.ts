import type Redis from 'ioredis';
import type {
  BudgetStore,
  LedgerEntry,
  ReserveResult,
  TenantWithUsage,
  WindowLimit,
} from './budget-store';
import type { PeriodWindow } from './budget-period';

// KEYS: one hash per window; ARGV: amount, then per key its limit and expiry (ms epoch).
// Checks every window first, then reserves in all of them: all or nothing.
const RESERVE = `
local amount = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local used = tonumber(redis.call('HGET', key, 'used') or '0')
  local reserved = tonumber(redis.call('HGET', key, 'reserved') or '0')
  if used + reserved + amount > tonumber(ARGV[i * 2]) then
    return i
  end
end
for i, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'reserved', amount)
  redis.call('PEXPIREAT', key, ARGV[i * 2 + 1])
end
return 0
`;

// ARGV: reserved, actual, then per key its expiry.
const SETTLE = `
local reserved = tonumber(ARGV[1])
local actual = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  local left = redis.call('HINCRBY', key, 'reserved', -reserved)
  if left < 0 then redis.call('HSET', key, 'reserved', 0) end
  redis.call('HINCRBY', key, 'used', actual)
  redis.call('PEXPIREAT', key, ARGV[i + 2])
end
return 0
`;

// KEYS: the window's order (sorted set), limits (hash) and sequence; ARGV: tenant, limits, expiry.
// A tenant new to the window gets the next number of the sequence: the order of first usage,
// the same on every replica, and strict even for calls in the same millisecond.
const NOTE_USAGE = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false then
  redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[3]), ARGV[1])
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
for i = 1, 3 do redis.call('PEXPIREAT', KEYS[i], ARGV[3]) end
return 0
`;

/** Keys outlive their window by a day so late settles and reads of the last period still see it. */
const EXPIRY_GRACE_MS = 24 * 60 * 60 * 1000;

/**
 * The shared ledger in Redis: every replica reserves and settles through the
 * same Lua scripts on per-window keys that expire, so N replicas enforce one
 * budget.
 */
export class RedisBudgetStore implements BudgetStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  async reserve(
    tenantId: string,
    windows: readonly WindowLimit[],
    amount: number,
  ): Promise<ReserveResult> {
    const args: (string | number)[] = [amount];
    for (const window of windows) args.push(window.limit, expiry(window));
    const failed = (await this.redis.eval(
      RESERVE,
      windows.length,
      ...windows.map((w) => this.key(tenantId, w)),
      ...args,
    )) as number;
    return failed === 0 ? { ok: true } : { ok: false, period: windows[failed - 1].period };
  }

  async settle(
    tenantId: string,
    windows: readonly PeriodWindow[],
    reserved: number,
    actual: number,
  ): Promise<void> {
    await this.redis.eval(
      SETTLE,
      windows.length,
      ...windows.map((w) => this.key(tenantId, w)),
      reserved,
      actual,
      ...windows.map(expiry),
    );
  }

  async read(tenantId: string, windows: readonly PeriodWindow[]): Promise<LedgerEntry[]> {
    const [entries] = await this.readMany([tenantId], windows);
    return entries;
  }

  async readMany(
    tenantIds: readonly string[],
    windows: readonly PeriodWindow[],
  ): Promise<LedgerEntry[][]> {
    const pipeline = this.redis.pipeline();
    for (const tenantId of tenantIds) {
      for (const window of windows) pipeline.hmget(this.key(tenantId, window), 'used', 'reserved');
    }
    const results = (await pipeline.exec()) ?? [];
    const entries = results.map(([error, value]) => {
      if (error) throw error;
      const [used, reserved] = value as (string | null)[];
      return { used: Number(used ?? 0), reserved: Number(reserved ?? 0) };
    });
    return tenantIds.map((_, i) => entries.slice(i * windows.length, (i + 1) * windows.length));
  }

  async noteUsage(
    tenantId: string,
    windows: readonly PeriodWindow[],
    limits: TenantWithUsage['limits'],
    _at: Date,
  ): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const window of windows) {
      const keys = this.indexKeys(window);
      pipeline.eval(
        NOTE_USAGE,
        keys.length,
        ...keys,
        tenantId,
        `${limits.daily}:${limits.monthly}`,
        expiry(window),
      );
    }
    const results = (await pipeline.exec()) ?? [];
    for (const [error] of results) if (error) throw error;
  }

  async tenantsWithUsage(window: PeriodWindow): Promise<TenantWithUsage[]> {
    const [[orderError, order], [limitsError, limits]] = ((await this.redis
      .pipeline()
      .zrange(this.indexKeys(window)[0], 0, -1)
      .hgetall(this.indexKeys(window)[1])
      .exec()) ?? [
      [null, []],
      [null, {}],
    ]) as [[Error | null, string[]], [Error | null, Record<string, string>]];
    if (orderError) throw orderError;
    if (limitsError) throw limitsError;
    return order.map((tenantId) => {
      const [daily = 0, monthly = 0] = (limits[tenantId] ?? '').split(':').map(Number);
      return { tenantId, limits: { daily, monthly } };
    });
  }

  /**
   * The window's usage index: its tenants by first usage (a sorted set scored
   * by a sequence), their limits, and the sequence. One hash tag, so the
   * script that updates the three runs in one cluster slot.
   */
  private indexKeys(window: PeriodWindow): [string, string, string] {
    const base = `${this.keyPrefix}budget-index:{${window.period}:${window.id}}`;
    return [`${base}:order`, `${base}:limits`, `${base}:seq`];
  }

  key(tenantId: string, window: PeriodWindow): string {
    // The hash tag keeps a tenant's windows in one cluster slot, as a multi-key script requires.
    return `${this.keyPrefix}budget:{${tenantId}}:${window.period}:${window.id}`;
  }
}

function expiry(window: PeriodWindow): number {
  return window.resetsAt.getTime() + EXPIRY_GRACE_MS;
}
