import type Redis from 'ioredis';
import type { BudgetStore, LedgerEntry, ReserveResult, WindowLimit } from './budget-store';
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

  key(tenantId: string, window: PeriodWindow): string {
    // The hash tag keeps a tenant's windows in one cluster slot, as a multi-key script requires.
    return `${this.keyPrefix}budget:{${tenantId}}:${window.period}:${window.id}`;
  }
}

function expiry(window: PeriodWindow): number {
  return window.resetsAt.getTime() + EXPIRY_GRACE_MS;
}
