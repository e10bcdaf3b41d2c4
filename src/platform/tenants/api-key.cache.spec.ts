import { API_KEY_CACHE_TTL_MS, ApiKeyCache } from './api-key.cache';

const auth = { tenantId: 't1', userId: 'u1', limits: { daily: 10, monthly: 100 } };

describe(ApiKeyCache.name, () => {
  it('serves a key until its time is up', () => {
    const cache = new ApiKeyCache(true);
    cache.set('hash', 'key-1', auth, cache.begin(), 0);
    expect(cache.get('hash', API_KEY_CACHE_TTL_MS - 1)?.auth).toBe(auth);
    expect(cache.get('hash', API_KEY_CACHE_TTL_MS)).toBeUndefined();
  });

  it('drops a revoked key at once', () => {
    const cache = new ApiKeyCache(true);
    cache.set('hash-1', 'key-1', auth, cache.begin(), 0);
    cache.set('hash-2', 'key-2', auth, cache.begin(), 0);
    cache.invalidate('key-1');
    expect(cache.get('hash-1', 1)).toBeUndefined();
    expect(cache.get('hash-2', 1)?.keyId).toBe('key-2');
  });

  it('does not keep a lookup that began before a revocation (it may have read the key still valid)', () => {
    const cache = new ApiKeyCache(true);
    const since = cache.begin();
    cache.invalidate('key-1');
    cache.set('hash-1', 'key-1', auth, since, 0);
    expect(cache.get('hash-1', 1)).toBeUndefined();
  });

  it('is not used while revocations may go unheard, and starts empty when they are heard again', () => {
    const cache = new ApiKeyCache(false);
    cache.set('hash-1', 'key-1', auth, cache.begin(), 0);
    expect(cache.get('hash-1', 1)).toBeUndefined();
    cache.resume();
    const since = cache.begin();
    cache.set('hash-1', 'key-1', auth, since, 0);
    expect(cache.get('hash-1', 1)?.keyId).toBe('key-1');
    cache.suspend();
    expect(cache.active).toBe(false);
    expect(cache.get('hash-1', 1)).toBeUndefined();
    cache.resume();
    expect(cache.get('hash-1', 1)).toBeUndefined();
  });
});
