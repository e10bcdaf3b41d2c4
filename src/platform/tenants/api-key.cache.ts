import type { TenantAuth } from './tenant-auth.types';

/** How long a resolved key is reused before the database is asked again: the bound when all else fails. */
export const API_KEY_CACHE_TTL_MS = 30_000;
const API_KEY_CACHE_MAX = 10_000;

interface CachedKey {
  readonly keyId: string;
  readonly auth: TenantAuth;
  readonly expires: number;
}

/**
 * Resolved API keys by hash, so authenticated requests stay off the
 * database. Safe against revocation: a revoked key is dropped at once
 * (invalidate), a lookup that raced a revocation is not kept (the
 * generation), and while revocations may go unheard (Redis disconnected)
 * the cache is not used at all.
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, CachedKey>();
  /** Moves on every invalidation: a lookup begun before it may have read a key since revoked. */
  private generation = 0;

  constructor(private trusted: boolean) {}

  get(hash: string, now: number): CachedKey | undefined {
    if (!this.trusted) return undefined;
    const entry = this.entries.get(hash);
    if (!entry) return undefined;
    if (entry.expires > now) return entry;
    this.entries.delete(hash);
    return undefined;
  }

  /** Call before reading a key from the database; pass the result to set(). */
  begin(): number {
    return this.generation;
  }

  set(hash: string, keyId: string, auth: TenantAuth, since: number, now: number): void {
    if (!this.trusted || since !== this.generation) return;
    if (this.entries.size >= API_KEY_CACHE_MAX) this.entries.clear();
    this.entries.set(hash, { keyId, auth, expires: now + API_KEY_CACHE_TTL_MS });
  }

  /** Drops the key wherever it is cached (a revocation, here or on another replica). */
  invalidate(keyId: string): void {
    this.generation++;
    for (const [hash, entry] of this.entries) if (entry.keyId === keyId) this.entries.delete(hash);
  }

  /** Revocations may be missed from now on: forget everything and stop caching. */
  suspend(): void {
    this.trusted = false;
    this.flush();
  }

  /** Revocations are heard again: start afresh, since some may have been missed meanwhile. */
  resume(): void {
    this.flush();
    this.trusted = true;
  }

  get active(): boolean {
    return this.trusted;
  }

  private flush(): void {
    this.generation++;
    this.entries.clear();
  }
}
