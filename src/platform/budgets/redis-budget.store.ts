import type Redis from 'ioredis';
import { LuaScript } from '../../redis';
import { RESERVATION_RECORD_RETENTION_MS } from './budget-store';
import type {
  BudgetStore,
  LedgerEntry,
  ReserveRequest,
  ReserveResult,
  Settlement,
  SettleResult,
  TenantWithUsage,
  WindowLimit,
} from './budget-store';
import type { PeriodWindow } from './budget-period';

/*
 * Key layout, all under the tenant's hash tag so every script runs in one
 * cluster slot: per window a hash (used, reserved); per tenant a hash of its
 * reservations (id → record) and a sorted set of when each record is due.
 *
 * A record is `r|<amount>|<window>|<window>...` while it holds budget, `s`
 * once settled, `e` once expired unsettled. A live record is due at its
 * expiry: then its amount is released and it becomes `e`. `s` and `e` are
 * due at the end of their retention, then forgotten. So a lost settle holds
 * budget until the reservation's expiry at most, and a settle retried after
 * its first try got through (the answer was lost) is recognised by the `s`.
 *
 * The scripts share this preamble. KEYS: the window hashes, then the
 * reservations hash and the due set. ARGV: now, the retention, the count m
 * of the script's own arguments, those (ARGV[4] to ARGV[3 + m]), then per
 * window its name (period:id), its key's expiry and its limit.
 */
const PREAMBLE = `
local n = #KEYS - 2
local book, due = KEYS[n + 1], KEYS[n + 2]
local now = tonumber(ARGV[1])
local retention = tonumber(ARGV[2])
local base = 3 + tonumber(ARGV[3])
local window_name, window_index, key_expiry, limit = {}, {}, {}, {}
for i = 1, n do
  window_name[i] = ARGV[base + 3 * i - 2]
  window_index[window_name[i]] = i
  key_expiry[i] = ARGV[base + 3 * i - 1]
  limit[i] = tonumber(ARGV[base + 3 * i])
end

-- Whole milliseconds as an integer string: Lua would print a large number in exponent form.
local function ms(value) return string.format('%d', value) end

local function keep_until(at)
  for _, key in ipairs({ book, due }) do
    if redis.call('PEXPIRETIME', key) < at then redis.call('PEXPIREAT', key, ms(at)) end
  end
end

-- Gives back a live record's amount in the windows it names that are current;
-- a window no longer current holds nothing enforcement reads.
local function release(record)
  local amount
  for part in string.gmatch(record, '[^|]+') do
    if amount == nil and part ~= 'r' then
      amount = tonumber(part)
    elseif amount ~= nil then
      local i = window_index[part]
      if i then
        if redis.call('HINCRBY', KEYS[i], 'reserved', -amount) < 0 then
          redis.call('HSET', KEYS[i], 'reserved', 0)
        end
      end
    end
  end
end

local function reclaim()
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', due, '-inf', ms(now))) do
    local record = redis.call('HGET', book, id)
    if record and string.sub(record, 1, 2) == 'r|' then
      release(record)
      redis.call('HSET', book, id, 'e')
      redis.call('ZADD', due, ms(now + retention), id)
    else
      redis.call('HDEL', book, id)
      redis.call('ZREM', due, id)
    end
  end
end
`;

// Own ARGV: id, prompt tokens, max output, min output, expiry.
// Returns {0, bound} or {index of the window with the least room, 0}; that window notes the refusal.
const RESERVE = new LuaScript(`${PREAMBLE}
reclaim()
local id = ARGV[4]
local prompt, max_output, min_output = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local expires_at = tonumber(ARGV[8])
local bound, tightest = max_output, 0
for i = 1, n do
  local used = tonumber(redis.call('HGET', KEYS[i], 'used') or '0')
  local reserved = tonumber(redis.call('HGET', KEYS[i], 'reserved') or '0')
  local room = limit[i] - used - reserved - prompt
  if room < bound then bound, tightest = room, i end
end
if bound < min_output then
  tightest = math.max(tightest, 1)
  redis.call('HSET', KEYS[tightest], 'refused_at', ms(now))
  redis.call('PEXPIREAT', KEYS[tightest], key_expiry[tightest])
  return { tightest, 0 }
end
local amount = prompt + bound
local record = 'r|' .. amount
for i = 1, n do
  redis.call('HINCRBY', KEYS[i], 'reserved', amount)
  redis.call('PEXPIREAT', KEYS[i], key_expiry[i])
  record = record .. '|' .. window_name[i]
end
redis.call('HSET', book, id, record)
redis.call('ZADD', due, ms(expires_at), id)
keep_until(math.max(expires_at, now) + retention)
return { 0, bound }
`);

// Own ARGV: id, actual tokens. Returns 1 for a settle seen before.
const SETTLE = new LuaScript(`${PREAMBLE}
reclaim()
local id, actual = ARGV[4], tonumber(ARGV[5])
local record = redis.call('HGET', book, id)
if record == 's' then return 1 end
if record and string.sub(record, 1, 2) == 'r|' then release(record) end
for i = 1, n do
  redis.call('HINCRBY', KEYS[i], 'used', actual)
  redis.call('PEXPIREAT', KEYS[i], key_expiry[i])
end
redis.call('HSET', book, id, 's')
redis.call('ZADD', due, ms(now + retention), id)
keep_until(now + retention)
return 0
`);

// No own ARGV. Returns used, reserved, refused_at per window.
const READ = new LuaScript(`${PREAMBLE}
reclaim()
local out = {}
for i = 1, n do
  local fields = redis.call('HMGET', KEYS[i], 'used', 'reserved', 'refused_at')
  for j = 1, 3 do out[3 * (i - 1) + j] = tonumber(fields[j] or '0') end
end
return out
`);

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
    request: ReserveRequest,
  ): Promise<ReserveResult> {
    const own = [
      request.id,
      request.promptTokens,
      request.maxOutputTokens,
      request.minOutputTokens,
      Math.round(request.expiresAt),
    ];
    const [failed, bound] = (await this.run(RESERVE, tenantId, windows, request.now, own)) as [
      number,
      number,
    ];
    return failed === 0
      ? { ok: true, outputBound: bound }
      : { ok: false, period: windows[failed - 1].period };
  }

  async settle(
    tenantId: string,
    windows: readonly PeriodWindow[],
    settlement: Settlement,
  ): Promise<SettleResult> {
    const seen = await this.run(SETTLE, tenantId, windows, settlement.now, [
      settlement.id,
      Math.max(0, Math.round(settlement.actual)),
    ]);
    return seen === 1 ? 'duplicate' : 'settled';
  }

  async read(
    tenantId: string,
    windows: readonly PeriodWindow[],
    now: number,
  ): Promise<LedgerEntry[]> {
    const flat = (await this.run(READ, tenantId, windows, now, [])) as number[];
    return windows.map((_, i) => ({
      used: flat[3 * i],
      reserved: flat[3 * i + 1],
      lastRefusedAt: flat[3 * i + 2],
    }));
  }

  async readMany(
    tenantIds: readonly string[],
    windows: readonly PeriodWindow[],
  ): Promise<LedgerEntry[][]> {
    const pipeline = this.redis.pipeline();
    for (const tenantId of tenantIds) {
      for (const window of windows) {
        pipeline.hmget(this.key(tenantId, window), 'used', 'reserved', 'refused_at');
      }
    }
    const results = (await pipeline.exec()) ?? [];
    const entries = results.map(([error, value]) => {
      if (error) throw error;
      const [used, reserved, refusedAt] = value as (string | null)[];
      return {
        used: Number(used ?? 0),
        reserved: Number(reserved ?? 0),
        lastRefusedAt: Number(refusedAt ?? 0),
      };
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

  /** The tenant's reservations (id → record) and when each record is due. */
  reservationKeys(tenantId: string): [string, string] {
    const base = `${this.keyPrefix}budget-reservations:{${tenantId}}`;
    return [base, `${base}:due`];
  }

  private run(
    script: LuaScript,
    tenantId: string,
    windows: readonly (PeriodWindow | WindowLimit)[],
    now: number,
    own: readonly (string | number)[],
  ): Promise<unknown> {
    const perWindow = windows.flatMap((window) => [
      `${window.period}:${window.id}`,
      expiry(window),
      'limit' in window ? window.limit : 0,
    ]);
    return script.run(
      this.redis,
      windows.length + 2,
      ...windows.map((window) => this.key(tenantId, window)),
      ...this.reservationKeys(tenantId),
      Math.round(now),
      RESERVATION_RECORD_RETENTION_MS,
      own.length,
      ...own,
      ...perWindow,
    );
  }
}

function expiry(window: PeriodWindow): number {
  return window.resetsAt.getTime() + EXPIRY_GRACE_MS;
}
