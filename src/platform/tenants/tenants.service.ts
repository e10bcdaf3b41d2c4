import { Inject, Injectable, NotFoundException, Optional } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { isUuid } from '../../common';
import { LOG_EVENTS } from '../../observability/catalog';
import { PinoLogger } from '../../observability/logging';
import { ApiKeyCache } from './api-key.cache';
import { ApiKey } from './api-key.entity';
import { displayPrefix, generateApiKey, hashApiKey } from './api-key.codec';
import { ApiKeyRevocationChannel } from './api-key-revocation.channel';
import { Tenant } from './tenant.entity';
import type { TenantAuth } from './tenant-auth.types';

/** The time keys are used at (tests move it past the last-used interval). */
export const API_KEY_CLOCK = Symbol('API_KEY_CLOCK');

/** last_used_at is written at most this often per key: a write per request would double the load. */
export const LAST_USED_INTERVAL_MS = 60_000;
/** Keys whose last write this process remembers; past it, the database's condition still holds. */
const LAST_USED_MEMORY_MAX = 10_000;

@Injectable()
export class TenantsService {
  /** Key id → when this process last wrote (or read) its last_used_at. */
  private readonly lastUsed = new Map<string, number>();
  private readonly clock: () => Date;

  constructor(
    @InjectRepository(Tenant) private readonly tenants: Repository<Tenant>,
    @InjectRepository(ApiKey) private readonly apiKeys: Repository<ApiKey>,
    // Every authenticated request resolves its key; the cache keeps that off the database.
    private readonly cache: ApiKeyCache,
    private readonly revocations: ApiKeyRevocationChannel,
    private readonly logger: PinoLogger,
    @Optional() @Inject(API_KEY_CLOCK) clock?: () => Date,
  ) {
    logger.setContext(TenantsService.name);
    this.clock = clock ?? (() => new Date());
  }

  async createTenant(input: {
    name: string;
    dailyTokenLimit: number;
    monthlyTokenLimit: number;
    userId: string;
  }): Promise<{ tenant: Tenant; apiKey: string }> {
    const tenant = await this.tenants.save(
      this.tenants.create({
        name: input.name,
        dailyTokenLimit: input.dailyTokenLimit,
        monthlyTokenLimit: input.monthlyTokenLimit,
      }),
    );
    const apiKey = await this.issueKey(tenant.id, input.userId);
    return { tenant, apiKey };
  }

  async createApiKey(tenantId: string, userId: string): Promise<string> {
    const tenant = await this.requireTenant(tenantId);
    return this.issueKey(tenant.id, userId);
  }

  async findTenant(tenantId: string): Promise<Tenant | null> {
    if (!isUuid(tenantId)) return null;
    return this.tenants.findOne({ where: { id: tenantId } });
  }

  /** The tenant's keys, revoked ones included, oldest first. */
  async listApiKeys(tenantId: string): Promise<ApiKey[]> {
    const tenant = await this.requireTenant(tenantId);
    return this.apiKeys.find({ where: { tenantId: tenant.id }, order: { createdAt: 'ASC' } });
  }

  /**
   * Revokes a key: stored first, then every replica's cache is told, so the
   * key answers 401 everywhere at once. Revoking a revoked key tells them
   * again (what a retry after a failed notice needs).
   */
  async revokeApiKey(tenantId: string, keyId: string): Promise<void> {
    const tenant = await this.requireTenant(tenantId);
    const key = isUuid(keyId)
      ? await this.apiKeys.findOne({ where: { id: keyId, tenantId: tenant.id } })
      : null;
    if (!key) throw new NotFoundException(`API key ${keyId} not found`);
    if (!key.revokedAt) await this.apiKeys.update({ id: key.id }, { revokedAt: this.clock() });
    let notified = false;
    try {
      await this.revocations.publish(key.id);
      notified = true;
    } finally {
      this.logger.info(
        {
          event: LOG_EVENTS.apiKeyRevoked,
          tenant_id: tenant.id,
          key_id: key.id,
          key_user_id: key.userId,
          replicas_notified: notified,
        },
        'API key revoked',
      );
    }
  }

  /** Resolves a presented key to its tenant and user, or undefined for an unknown or revoked key. */
  async authenticate(key: string): Promise<TenantAuth | undefined> {
    const hash = hashApiKey(key);
    const now = this.clock().getTime();
    const cached = this.cache.get(hash, now);
    if (cached) {
      this.noteUse(cached.keyId, undefined, now);
      return cached.auth;
    }

    const since = this.cache.begin();
    const row = await this.apiKeys.findOne({ where: { keyHash: hash } });
    if (!row || row.revokedAt) return undefined;
    const tenant = await this.tenants.findOne({ where: { id: row.tenantId } });
    if (!tenant) return undefined;
    const auth: TenantAuth = {
      tenantId: tenant.id,
      userId: row.userId,
      limits: { daily: tenant.dailyTokenLimit, monthly: tenant.monthlyTokenLimit },
    };
    this.cache.set(hash, row.id, auth, since, now);
    this.noteUse(row.id, row.lastUsedAt, now);
    return auth;
  }

  /**
   * Writes last_used_at when this process has not seen it written within the
   * interval; the condition in the UPDATE keeps replicas from each writing it.
   * Not awaited: the request does not wait for bookkeeping.
   */
  private noteUse(keyId: string, stored: Date | null | undefined, now: number): void {
    const known = Math.max(this.lastUsed.get(keyId) ?? -Infinity, stored?.getTime() ?? -Infinity);
    if (now - known < LAST_USED_INTERVAL_MS) {
      if (stored) this.remember(keyId, known);
      return;
    }
    this.remember(keyId, now);
    this.apiKeys
      .createQueryBuilder()
      .update(ApiKey)
      .set({ lastUsedAt: new Date(now) })
      .where('id = :keyId', { keyId })
      .andWhere('(last_used_at IS NULL OR last_used_at <= :threshold)', {
        threshold: new Date(now - LAST_USED_INTERVAL_MS),
      })
      .execute()
      // Bookkeeping, not access control: a lost write is made again at a use a minute later.
      .catch(() => undefined);
  }

  private remember(keyId: string, at: number): void {
    if (this.lastUsed.size >= LAST_USED_MEMORY_MAX) this.lastUsed.clear();
    this.lastUsed.set(keyId, at);
  }

  private async requireTenant(tenantId: string): Promise<Tenant> {
    const tenant = await this.findTenant(tenantId);
    if (!tenant) throw new NotFoundException(`Tenant ${tenantId} not found`);
    return tenant;
  }

  private async issueKey(tenantId: string, userId: string): Promise<string> {
    const key = generateApiKey();
    await this.apiKeys.save(
      this.apiKeys.create({
        tenantId,
        userId,
        keyHash: hashApiKey(key),
        keyPrefix: displayPrefix(key),
      }),
    );
    return key;
  }
}
