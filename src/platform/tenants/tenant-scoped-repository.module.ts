import { DynamicModule, Inject, Module } from '@nestjs/common';
import type { Type } from '@nestjs/common';
import { getRepositoryToken, TypeOrmModule } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { TenantScopedRepository } from './tenant-scoped.repository';
import type { TenantOwned } from './tenant-scoped.repository';

/** DI token of the tenant-scoped repository of one entity. */
export function tenantScopedRepositoryToken(entity: Type<TenantOwned>): string {
  return `TenantScopedRepository<${entity.name}>`;
}

/**
 * Injects the entity's repository already scoped to a tenant: every read and
 * write takes the tenant id, so a service cannot reach another tenant's rows
 * by accident. The plain TypeORM repository of a tenant-owned entity is not
 * provided to anyone (a lint rule keeps @InjectRepository out of the domain).
 */
export function InjectTenantScopedRepository(entity: Type<TenantOwned>): ParameterDecorator {
  return Inject(tenantScopedRepositoryToken(entity));
}

/**
 * The tenant-owned entities of a module, as tenant-scoped repositories:
 * import `TenantScopedRepositoryModule.forFeature([Agent, Run])` where
 * `TypeOrmModule.forFeature` would go.
 */
@Module({})
export class TenantScopedRepositoryModule {
  static forFeature(entities: Type<TenantOwned>[]): DynamicModule {
    const providers = entities.map((entity) => ({
      provide: tenantScopedRepositoryToken(entity),
      inject: [getRepositoryToken(entity)],
      useFactory: (repository: Repository<TenantOwned>) => new TenantScopedRepository(repository),
    }));
    return {
      module: TenantScopedRepositoryModule,
      imports: [TypeOrmModule.forFeature(entities)],
      providers,
      exports: providers.map((provider) => provider.provide),
    };
  }
}
