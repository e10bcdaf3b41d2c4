import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AdminGuard } from './admin.guard';
import { ApiKey } from './api-key.entity';
import { Tenant } from './tenant.entity';
import { TenantAuthGuard } from './tenant-auth.guard';
import { TenantsController } from './tenants.controller';
import { TenantsService } from './tenants.service';

@Module({
  imports: [TypeOrmModule.forFeature([Tenant, ApiKey])],
  controllers: [TenantsController],
  providers: [TenantsService, TenantAuthGuard, AdminGuard],
  exports: [TenantsService, TenantAuthGuard],
})
export class TenantsModule {}
