import { Global, Module } from '@nestjs/common';
import { Client } from 'pg';
import { DatabaseModule } from '../../../src/database';
import { TenantsModule } from '../../../src/platform/tenants';
import {
  API_KEY_CLOCK,
  LAST_USED_INTERVAL_MS,
  TenantsService,
} from '../../../src/platform/tenants/tenants.service';
import { RedisModule } from '../../../src/redis';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { startObservedModule } from '../../helpers/observability';
import type { ObservedModule } from '../../helpers/observability';
import { waitFor } from '../../helpers/wait-for';

let now = new Date('2026-03-02T12:00:00.000Z');

@Global()
@Module({ providers: [{ provide: API_KEY_CLOCK, useValue: () => now }], exports: [API_KEY_CLOCK] })
class TestClockModule {}

describe('last_used_at of API keys', () => {
  let db: TestDatabase;
  let pg: Client;
  let replicas: ObservedModule[];

  beforeAll(async () => {
    db = await createTestDatabase('last_used');
    const start = () =>
      startObservedModule({
        env: { DATABASE_URL: db.url, LOG_LEVEL: 'silent' },
        imports: [TestClockModule, DatabaseModule, RedisModule, TenantsModule],
      });
    replicas = [await start(), await start()];
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  });
  afterAll(async () => {
    await pg?.end();
    for (const replica of replicas ?? []) await replica.close();
    await db?.drop();
  });

  const service = (i: number) => replicas[i].get(TenantsService);
  const lastUsed = async (keyId: string): Promise<string | null> => {
    const { rows } = await pg.query<{ last_used_at: Date | null }>(
      'SELECT last_used_at FROM api_keys WHERE id = $1',
      [keyId],
    );
    return rows[0]?.last_used_at?.toISOString() ?? null;
  };
  /** The row version: every UPDATE writes a new one, even one that changes no value. */
  const rowVersion = async (keyId: string): Promise<string> => {
    const { rows } = await pg.query<{ xmin: string }>(
      'SELECT xmin::text AS xmin FROM api_keys WHERE id = $1',
      [keyId],
    );
    return rows[0]?.xmin ?? '';
  };

  it('is written at the first use, then at most once a minute, whichever replica serves the key', async () => {
    const { tenant, apiKey } = await service(0).createTenant({
      name: 'acme',
      dailyTokenLimit: 1000,
      monthlyTokenLimit: 10_000,
      userId: 'alice',
    });
    const [key] = await service(0).listApiKeys(tenant.id);
    expect(key.lastUsedAt).toBeNull();

    const first = now.toISOString();
    expect(await service(0).authenticate(apiKey)).toMatchObject({ tenantId: tenant.id });
    await waitFor(async () => (await lastUsed(key.id)) === first, { timeoutMs: 3000 });

    // 59 s of requests on both replicas: nothing written.
    for (const seconds of [1, 20, 40, 59]) {
      now = new Date(Date.parse(first) + seconds * 1000);
      await service(0).authenticate(apiKey);
      await service(1).authenticate(apiKey);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await lastUsed(key.id)).toBe(first);

    now = new Date(Date.parse(first) + LAST_USED_INTERVAL_MS);
    await service(1).authenticate(apiKey);
    await waitFor(async () => (await lastUsed(key.id)) === now.toISOString(), {
      timeoutMs: 3000,
    });
  });

  it('costs the database no write per request', async () => {
    const { tenant, apiKey } = await service(0).createTenant({
      name: 'busy',
      dailyTokenLimit: 1000,
      monthlyTokenLimit: 10_000,
      userId: 'bob',
    });
    const [key] = await service(0).listApiKeys(tenant.id);
    now = new Date(now.getTime() + 10 * LAST_USED_INTERVAL_MS);
    await service(0).authenticate(apiKey);
    await waitFor(async () => (await lastUsed(key.id)) === now.toISOString(), {
      timeoutMs: 3000,
    });
    const version = await rowVersion(key.id);
    for (let i = 0; i < 50; i++) await service(i % 2).authenticate(apiKey);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await rowVersion(key.id)).toBe(version);
  });
});
