import { randomBytes, randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { MemoryRunSlotStore } from '../../../src/platform/agents/memory-run-slot.store';
import { RedisRunSlotStore } from '../../../src/platform/agents/redis-run-slot.store';
import { RUN_SLOT_STORE } from '../../../src/platform/agents/run-slot-store';
import type { RunSlotStore } from '../../../src/platform/agents/run-slot-store';
import {
  RunSlotsUnavailableError,
  TenantConcurrencyLimitError,
  TenantRunSlots,
} from '../../../src/platform/agents/tenant-run-slots.service';
import { createRedisClient } from '../../../src/redis';
import { sampleValue } from '../../helpers/metrics';
import { startObservedModule } from '../../helpers/observability';
import type { ObservedModule } from '../../helpers/observability';
import { startTcpProxy } from '../../helpers/tcp-proxy';
import type { TcpProxy } from '../../helpers/tcp-proxy';
import { waitFor } from '../../helpers/wait-for';

const REDIS_URL = 'redis://127.0.0.1:6379';
const HOUR_MS = 3_600_000;
const RUN_TIMEOUT_MS = 120_000;

const redisClients: Redis[] = [];
let prefix: string;

function redisStore(): RedisRunSlotStore {
  const client = new Redis(REDIS_URL);
  redisClients.push(client);
  return new RedisRunSlotStore(client, prefix);
}

const backends: [string, () => RunSlotStore, () => RunSlotStore][] = [
  // A second store on its own connection is another replica; the memory store has no other replica.
  ['memory', () => new MemoryRunSlotStore(), () => new MemoryRunSlotStore()],
  ['redis', redisStore, redisStore],
];

beforeEach(() => {
  prefix = `eaptest:slots:${randomBytes(4).toString('hex')}:`;
});
afterAll(async () => {
  const cleaner = new Redis(REDIS_URL);
  const keys = await cleaner.keys('eaptest:slots:*');
  if (keys.length > 0) await cleaner.del(...keys);
  await cleaner.quit();
  await Promise.all(redisClients.map((client) => client.quit()));
});

describe.each(backends)('run slots in the %s store', (backend, newStore) => {
  it('grants exactly the limit under concurrent acquires', async () => {
    const store = newStore();
    const grants = await Promise.all(
      Array.from({ length: 30 }, () => store.acquire('t1', randomUUID(), 10, HOUR_MS)),
    );
    expect(grants.filter((grant) => grant.granted)).toHaveLength(10);
    expect(grants.filter((grant) => !grant.granted).map((grant) => grant.inFlight)).toEqual(
      Array.from({ length: 20 }, () => 10),
    );
  });

  it('counts each tenant on its own', async () => {
    const store = newStore();
    expect(await store.acquire('a', randomUUID(), 1, HOUR_MS)).toEqual({
      granted: true,
      inFlight: 1,
    });
    expect(await store.acquire('a', randomUUID(), 1, HOUR_MS)).toEqual({
      granted: false,
      inFlight: 1,
    });
    expect((await store.acquire('b', randomUUID(), 1, HOUR_MS)).granted).toBe(true);
  });

  it('frees a slot on release, and a second release of it changes nothing', async () => {
    const store = newStore();
    const first = randomUUID();
    await store.acquire('t1', first, 2, HOUR_MS);
    await store.acquire('t1', randomUUID(), 2, HOUR_MS);
    expect((await store.acquire('t1', randomUUID(), 2, HOUR_MS)).granted).toBe(false);
    await store.release('t1', first);
    await store.release('t1', first);
    await store.release('t1', randomUUID());
    expect(await store.acquire('t1', randomUUID(), 2, HOUR_MS)).toEqual({
      granted: true,
      inFlight: 2,
    });
    expect((await store.acquire('t1', randomUUID(), 2, HOUR_MS)).granted).toBe(false);
  });

  it('reclaims slots that were never released once they expire', async () => {
    const store = newStore();
    await store.acquire('t1', randomUUID(), 2, 200);
    await store.acquire('t1', randomUUID(), 2, HOUR_MS);
    expect((await store.acquire('t1', randomUUID(), 2, HOUR_MS)).granted).toBe(false);
    const reclaimed = await waitFor(
      async () => {
        const grant = await store.acquire('t1', randomUUID(), 2, HOUR_MS);
        return grant.granted && grant;
      },
      { timeoutMs: 2000, intervalMs: 50 },
    );
    expect(reclaimed.inFlight).toBe(2);
  });

  if (backend === 'redis') {
    it('shares the limit between replicas', async () => {
      const [a, b] = [newStore(), newStore()];
      const grants = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? a : b).acquire('t1', randomUUID(), 4, HOUR_MS),
        ),
      );
      expect(grants.filter((grant) => grant.granted)).toHaveLength(4);
    });

    it('lets the key expire with its last slot', async () => {
      const store = newStore() as RedisRunSlotStore;
      const client = redisClients.at(-1)!;
      await store.acquire('t1', randomUUID(), 5, 60_000);
      await store.acquire('t1', randomUUID(), 5, 120_000);
      const [[, last]] = [await client.zrange(store.key('t1'), -1, -1, 'WITHSCORES')].map(
        (pair) => [pair[0], Number(pair[1])],
      );
      expect(Number(await client.call('PEXPIRETIME', store.key('t1')))).toBe(last);
    });
  }
});

describe(TenantRunSlots.name, () => {
  let observed: ObservedModule;
  let proxy: TcpProxy;
  let appClient: Redis;
  let direct: RedisRunSlotStore;

  beforeAll(async () => {
    prefix = `eaptest:slots:${randomBytes(4).toString('hex')}:`;
    proxy = await startTcpProxy(6379);
    // The app's own client options (fail fast, no offline queue), through a proxy the test can cut.
    appClient = createRedisClient(`redis://127.0.0.1:${proxy.port}`, 'slots-test', 500);
    appClient.on('error', () => undefined);
    await waitFor(() => appClient.status === 'ready', { timeoutMs: 5000 });
    direct = redisStore();
    observed = await startObservedModule({
      env: { TENANT_MAX_CONCURRENT_RUNS: '2', RUN_TIMEOUT_MS: String(RUN_TIMEOUT_MS) },
      providers: [
        TenantRunSlots,
        { provide: RUN_SLOT_STORE, useValue: new RedisRunSlotStore(appClient, prefix) },
      ],
    });
  });
  afterAll(async () => {
    await observed?.close();
    appClient?.disconnect();
    await proxy?.close();
  });

  const slots = () => observed.get(TenantRunSlots);

  it('refuses past TENANT_MAX_CONCURRENT_RUNS, saying the limit and the count, logged and counted', async () => {
    const held = [await slots().acquire('busy'), await slots().acquire('busy')];
    const refusal = await slots()
      .acquire('busy')
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(refusal).toBeInstanceOf(TenantConcurrencyLimitError);
    expect(refusal).toMatchObject({ limit: 2, inFlight: 2, retryAfterSeconds: 1 });
    expect(observed.logs.events('run.refused')).toEqual([
      expect.objectContaining({
        level: 'warn',
        reason: 'tenant_concurrency',
        limit: 2,
        in_flight: 2,
      }),
    ]);
    expect(
      sampleValue(await observed.samples(), 'agent_runs_refused_total', {
        tenant_id: 'busy',
        reason: 'tenant_concurrency',
      }),
    ).toBe(1);
    for (const slot of held) await slot.release();
    expect((await direct.acquire('busy', randomUUID(), 2, HOUR_MS)).inFlight).toBe(1);
  });

  it('holds a slot for RUN_TIMEOUT_MS plus a margin', async () => {
    const before = Date.now();
    const slot = await slots().acquire('hold');
    const [, score] = await redisClients.at(-1)!.zrange(direct.key('hold'), 0, 0, 'WITHSCORES');
    const holdMs = Number(score) - before;
    expect(holdMs).toBeGreaterThanOrEqual(RUN_TIMEOUT_MS + 30_000);
    expect(holdMs).toBeLessThanOrEqual(RUN_TIMEOUT_MS + 60_000 + 1000);
    await slot.release();
  });

  it('fails closed while Redis cannot answer: no run starts uncounted', async () => {
    await proxy.setMode('refuse');
    try {
      await expect(slots().acquire('outage')).rejects.toBeInstanceOf(RunSlotsUnavailableError);
    } finally {
      await proxy.setMode('forward');
    }
    await waitFor(() => appClient.status === 'ready', { timeoutMs: 5000 });
  });

  it('retries a release that failed, so an outage does not keep the slot for its whole hold', async () => {
    const first = await slots().acquire('blip');
    await slots().acquire('blip');
    await proxy.setMode('refuse');
    await first.release();
    expect(observed.logs.events('run.slot.release_failed')).toEqual([
      expect.objectContaining({ level: 'warn' }),
    ]);
    expect((await direct.acquire('blip', randomUUID(), 2, HOUR_MS)).granted).toBe(false);
    await proxy.setMode('forward');
    const freed = await waitFor(
      async () => {
        const grant = await direct.acquire('blip', randomUUID(), 2, HOUR_MS);
        return grant.granted && grant;
      },
      { timeoutMs: 8000, intervalMs: 100 },
    );
    expect(freed.inFlight).toBe(2);
  });
});
