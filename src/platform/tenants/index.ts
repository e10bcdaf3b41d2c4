export { TenantsModule } from './tenants.module';
export { TenantsService } from './tenants.service';
export { TenantAuthGuard } from './tenant-auth.guard';
export { CurrentTenant } from './current-tenant.decorator';
export { TenantScopedRepository } from './tenant-scoped.repository';
export type { TenantOwned } from './tenant-scoped.repository';
export {
  InjectTenantScopedRepository,
  TenantScopedRepositoryModule,
} from './tenant-scoped-repository.module';
export type { TenantAuth } from './tenant-auth.types';
