import { startTestApp, TestApp } from '../../helpers/app';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { captureLogs } from '../../helpers/log-capture';
import type { LogCapture } from '../../helpers/log-capture';
import { createTenant, request, TEST_ADMIN_KEY, TestTenant } from '../../helpers/platform';
import { startRedisServer, RedisServer } from '../../helpers/redis-server';
import { waitFor } from '../../helpers/wait-for';
import { hashApiKey } from '../../../src/platform/tenants/api-key.codec';

/** How soon a revoked key must be refused on a replica that had it cached. */
const AT_ONCE_MS = 1000;
const KEY_PREFIX = `eaptest:api-keys:${Date.now()}:`;
const CHANNEL = `${KEY_PREFIX}api-key-revoked`;

describe('API keys: listed and revoked by the admin, refused at once on every replica', () => {
  let db: TestDatabase;
  let redis: RedisServer;
  let logs: LogCapture;
  let replicaA: TestApp;
  let replicaB: TestApp;

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase('api_keys'), startRedisServer()]);
    logs = captureLogs();
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: KEY_PREFIX,
      ADMIN_API_KEY: TEST_ADMIN_KEY,
    };
    replicaA = await startTestApp(
      { ...env, LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
      { logDestination: logs.destination },
    );
    replicaB = await startTestApp(env);
  });
  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.close();
    await redis?.stop();
    await db?.drop();
  });

  const admin = (app: TestApp, method: string, path: string) =>
    request(app.url, method, path, { key: TEST_ADMIN_KEY });
  /** A tenant-authenticated call; 200 while the key is valid, 401 once not. */
  const budgetStatus = async (app: TestApp, key: string) =>
    (await request(app.url, 'GET', '/v1/budget', { key })).status;
  const newKey = async (tenant: TestTenant, userId: string): Promise<string> => {
    const res = await request(replicaA.url, 'POST', `/v1/tenants/${tenant.id}/api-keys`, {
      key: TEST_ADMIN_KEY,
      body: { user_id: userId },
    });
    expect(res.status).toBe(201);
    return res.body.api_key;
  };
  const keyIdOf = async (tenant: TestTenant, userId: string): Promise<string> => {
    const list = await admin(replicaA, 'GET', `/v1/tenants/${tenant.id}/api-keys`);
    return list.body.find((key: { user_id: string }) => key.user_id === userId).id;
  };

  it('lists a tenant’s keys with their user and dates, never the key nor its hash', async () => {
    const tenant = await createTenant(replicaA.url, { name: 'listed', userId: 'alice' });
    const second = await newKey(tenant, 'bob');
    await createTenant(replicaA.url, { name: 'someone-else' });

    const res = await admin(replicaA, 'GET', `/v1/tenants/${tenant.id}/api-keys`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      {
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        user_id: 'alice',
        key_prefix: tenant.key.slice(0, 10),
        created_at: expect.any(String),
        last_used_at: null,
        revoked_at: null,
      },
      expect.objectContaining({ user_id: 'bob', key_prefix: second.slice(0, 10) }),
    ]);
    const text = JSON.stringify(res.body);
    for (const secret of [tenant.key, second, hashApiKey(tenant.key), hashApiKey(second)]) {
      expect(text).not.toContain(secret);
    }
  });

  it('shows when a key was last used', async () => {
    const tenant = await createTenant(replicaA.url, { name: 'used', userId: 'carol' });
    expect(await budgetStatus(replicaA, tenant.key)).toBe(200);
    const used = await waitFor(async () => {
      const list = await admin(replicaB, 'GET', `/v1/tenants/${tenant.id}/api-keys`);
      return list.body[0].last_used_at;
    });
    expect(Date.now() - Date.parse(used)).toBeLessThan(10_000);
    // More requests within the minute leave it as it was.
    for (let i = 0; i < 5; i++) expect(await budgetStatus(replicaB, tenant.key)).toBe(200);
    const list = await admin(replicaA, 'GET', `/v1/tenants/${tenant.id}/api-keys`);
    expect(list.body[0].last_used_at).toBe(used);
  });

  it('revokes a key: 401 at once on both replicas, warm caches included; other keys keep working', async () => {
    const tenant = await createTenant(replicaA.url, { name: 'revoked', userId: 'dave' });
    const kept = await newKey(tenant, 'erin');
    // Both replicas have resolved (and cached) the key.
    for (const app of [replicaA, replicaB, replicaA, replicaB]) {
      expect(await budgetStatus(app, tenant.key)).toBe(200);
    }
    const keyId = await keyIdOf(tenant, 'dave');

    const revoked = await admin(replicaA, 'DELETE', `/v1/tenants/${tenant.id}/api-keys/${keyId}`);
    expect(revoked.status).toBe(204);
    expect(await budgetStatus(replicaA, tenant.key)).toBe(401);
    const started = Date.now();
    await waitFor(async () => (await budgetStatus(replicaB, tenant.key)) === 401, {
      timeoutMs: AT_ONCE_MS,
    });
    expect(Date.now() - started).toBeLessThan(AT_ONCE_MS);
    const refused = await request(replicaB.url, 'GET', '/v1/budget', { key: tenant.key });
    expect(refused.body).toMatchObject({ statusCode: 401, message: 'Invalid API key' });
    for (const app of [replicaA, replicaB]) expect(await budgetStatus(app, kept)).toBe(200);

    const list = await admin(replicaB, 'GET', `/v1/tenants/${tenant.id}/api-keys`);
    const row = list.body.find((key: { id: string }) => key.id === keyId);
    expect(Date.parse(row.revoked_at)).toBeGreaterThan(started - 10_000);
    expect(logs.events('api_key.revoked')).toContainEqual(
      expect.objectContaining({
        level: 'info',
        tenant_id: tenant.id,
        key_id: keyId,
        key_user_id: 'dave',
        replicas_notified: true,
      }),
    );
    // Revoking again is no error: it tells the replicas once more.
    expect(
      (await admin(replicaB, 'DELETE', `/v1/tenants/${tenant.id}/api-keys/${keyId}`)).status,
    ).toBe(204);
  });

  it('answers 404 for an unknown key, another tenant’s key, or an unknown tenant', async () => {
    const owner = await createTenant(replicaA.url, { name: 'owner', userId: 'frank' });
    const other = await createTenant(replicaA.url, { name: 'other' });
    const keyId = await keyIdOf(owner, 'frank');
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const path of [
      `/v1/tenants/${other.id}/api-keys/${keyId}`,
      `/v1/tenants/${owner.id}/api-keys/${missing}`,
      `/v1/tenants/${owner.id}/api-keys/not-a-uuid`,
      `/v1/tenants/${missing}/api-keys/${keyId}`,
    ]) {
      const res = await admin(replicaA, 'DELETE', path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
    expect((await admin(replicaA, 'GET', `/v1/tenants/${missing}/api-keys`)).status).toBe(404);
    expect(await budgetStatus(replicaA, owner.key)).toBe(200);
  });

  it('is for the admin only', async () => {
    const tenant = await createTenant(replicaA.url, { name: 'guarded', userId: 'gina' });
    const keyId = await keyIdOf(tenant, 'gina');
    for (const key of [tenant.key, undefined]) {
      const list = await request(replicaA.url, 'GET', `/v1/tenants/${tenant.id}/api-keys`, { key });
      const revoke = await request(
        replicaA.url,
        'DELETE',
        `/v1/tenants/${tenant.id}/api-keys/${keyId}`,
        { key },
      );
      expect([list.status, revoke.status]).toEqual([401, 401]);
    }
    expect(await budgetStatus(replicaA, tenant.key)).toBe(200);
  });

  it('keeps revocation immediate through a Redis outage, and hears revocations again after it', async () => {
    const tenant = await createTenant(replicaA.url, { name: 'outage', userId: 'hank' });
    const later = await newKey(tenant, 'ivy');
    for (const app of [replicaA, replicaB]) {
      expect(await budgetStatus(app, tenant.key)).toBe(200);
      expect(await budgetStatus(app, later)).toBe(200);
    }
    const keyId = await keyIdOf(tenant, 'hank');

    await redis.kill();
    // Stored, but the other replicas cannot be told: the admin is asked to retry.
    const during = await admin(replicaA, 'DELETE', `/v1/tenants/${tenant.id}/api-keys/${keyId}`);
    expect(during.status).toBe(503);
    expect(during.body.message).toMatch(/revoked, but other replicas could not be told/);
    // Without the channel, no replica trusts its cache: the database refuses the key.
    for (const app of [replicaA, replicaB]) expect(await budgetStatus(app, tenant.key)).toBe(401);

    await redis.start();
    await waitFor(
      async () =>
        (await admin(replicaA, 'DELETE', `/v1/tenants/${tenant.id}/api-keys/${keyId}`)).status ===
        204,
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    // Both replicas subscribed again; their caches warm again; a revocation on one reaches the other.
    const probe = redis.client();
    await waitFor(
      async () => {
        const [, subscribers] = (await probe.call('PUBSUB', 'NUMSUB', CHANNEL)) as [string, number];
        return subscribers === 2;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    for (const app of [replicaA, replicaB, replicaA])
      expect(await budgetStatus(app, later)).toBe(200);
    const laterId = await keyIdOf(tenant, 'ivy');
    expect(
      (await admin(replicaB, 'DELETE', `/v1/tenants/${tenant.id}/api-keys/${laterId}`)).status,
    ).toBe(204);
    await waitFor(async () => (await budgetStatus(replicaA, later)) === 401, {
      timeoutMs: AT_ONCE_MS,
    });
  });
});

describe('API key revocation without Redis (one process)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_API_KEY: TEST_ADMIN_KEY });
  });
  afterAll(() => app?.close());

  it('refuses the revoked key at once, though it was cached', async () => {
    const tenant = await createTenant(app.url, { name: 'solo', userId: 'jo' });
    const budget = () => request(app.url, 'GET', '/v1/budget', { key: tenant.key });
    expect((await budget()).status).toBe(200);
    expect((await budget()).status).toBe(200);
    const list = await request(app.url, 'GET', `/v1/tenants/${tenant.id}/api-keys`, {
      key: TEST_ADMIN_KEY,
    });
    const revoke = await request(
      app.url,
      'DELETE',
      `/v1/tenants/${tenant.id}/api-keys/${list.body[0].id}`,
      { key: TEST_ADMIN_KEY },
    );
    expect(revoke.status).toBe(204);
    expect((await budget()).status).toBe(401);
  });
});
