import type {
  FindOptionsOrder,
  FindOptionsWhere,
  ObjectLiteral,
  Repository,
  SelectQueryBuilder,
} from 'typeorm';
import { isUuid } from '../../common';

/** Every tenant-owned entity has these two columns. */
export interface TenantOwned extends ObjectLiteral {
  id: string;
  tenantId: string;
}

/**
 * The only way services read or write tenant-owned rows: every method takes
 * the tenant id and adds it to the query, so a query without a tenant filter
 * cannot be written by accident. Another tenant's row is simply not found.
 */
export class TenantScopedRepository<T extends TenantOwned> {
  constructor(private readonly repository: Repository<T>) {}

  async findById(tenantId: string, id: string): Promise<T | null> {
    // A malformed id can match nothing; asking PostgreSQL would only raise a cast error.
    if (!isUuid(id)) return null;
    return this.repository.findOne({ where: { id, tenantId } as FindOptionsWhere<T> });
  }

  async list(
    tenantId: string,
    options: { where?: FindOptionsWhere<T>; order?: FindOptionsOrder<T>; take?: number } = {},
  ): Promise<T[]> {
    return this.repository.find({
      where: { ...options.where, tenantId } as FindOptionsWhere<T>,
      order: options.order,
      take: options.take,
    });
  }

  async insert(tenantId: string, values: Omit<Partial<T>, 'tenantId'>): Promise<T> {
    const entity = this.repository.create({ ...values, tenantId } as T);
    return this.repository.save(entity);
  }

  async update(tenantId: string, id: string, patch: Partial<T>): Promise<void> {
    const { tenantId: _ignored, ...rest } = patch;
    await this.repository.update({ id, tenantId } as FindOptionsWhere<T>, rest as never);
  }

  /** A query builder already filtered on the tenant, for queries the finder methods cannot express. */
  queryBuilder(tenantId: string, alias: string): SelectQueryBuilder<T> {
    return this.repository
      .createQueryBuilder(alias)
      .where(`${alias}.tenant_id = :tenantId`, { tenantId });
  }
}
