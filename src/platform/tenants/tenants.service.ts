import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { ApiKey } from './api-key.entity';
import { displayPrefix, generateApiKey, hashApiKey } from './api-key.codec';
import { Tenant } from './tenant.entity';
import type { TenantAuth } from './tenant-auth.types';

const AUTH_CACHE_TTL_MS = 30_000;
const AUTH_CACHE_MAX = 10_000;

@Injectable()
export class TenantsService {
  // Every authenticated request resolves its key; a short cache keeps that off the database.
  private readonly authCache = new Map<string, { auth: TenantAuth; expires: number }>();

  constructor(
    @InjectRepository(Tenant) private readonly tenants: Repository<Tenant>,
    @InjectRepository(ApiKey) private readonly apiKeys: Repository<ApiKey>,
  ) {}

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
    const tenant = await this.findTenant(tenantId);
    if (!tenant) throw new NotFoundException(`Tenant ${tenantId} not found`);
    return this.issueKey(tenant.id, userId);
  }

  async findTenant(tenantId: string): Promise<Tenant | null> {
    if (!/^[0-9a-f-]{36}$/i.test(tenantId)) return null;
    return this.tenants.findOne({ where: { id: tenantId } });
  }

  /** Resolves a presented key to its tenant and user, or undefined for an unknown key. */
  async authenticate(key: string): Promise<TenantAuth | undefined> {
    const hash = hashApiKey(key);
    const now = Date.now();
    const cached = this.authCache.get(hash);
    if (cached && cached.expires > now) return cached.auth;

    const row = await this.apiKeys.findOne({ where: { keyHash: hash } });
    if (!row) return undefined;
    const tenant = await this.tenants.findOne({ where: { id: row.tenantId } });
    if (!tenant) return undefined;
    const auth: TenantAuth = {
      tenantId: tenant.id,
      userId: row.userId,
      limits: { daily: tenant.dailyTokenLimit, monthly: tenant.monthlyTokenLimit },
    };
    if (this.authCache.size >= AUTH_CACHE_MAX) this.authCache.clear();
    this.authCache.set(hash, { auth, expires: now + AUTH_CACHE_TTL_MS });
    return auth;
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
