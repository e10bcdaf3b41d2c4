import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RedisService } from '../../redis';
import { AdminGuard } from './admin.guard';
import { ApiKeyCache } from './api-key.cache';
import { ApiKey } from './api-key.entity';
import { ApiKeyRevocationChannel } from './api-key-revocation.channel';
import { Tenant } from './tenant.entity';
import { TenantAuthGuard } from './tenant-auth.guard';
import { TenantsController } from './tenants.controller';
import { TenantsService } from './tenants.service';

@Module({
  imports: [TypeOrmModule.forFeature([Tenant, ApiKey])],
  controllers: [TenantsController],
  providers: [
    {
      provide: ApiKeyCache,
      inject: [RedisService],
      // With Redis, replicas hear of revocations over it: no cache until the channel is up.
      useFactory: (redis: RedisService) => new ApiKeyCache(!redis.configured),
    },
    ApiKeyRevocationChannel,
    TenantsService,
    TenantAuthGuard,
    AdminGuard,
  ],
  exports: [TenantsService, TenantAuthGuard],
})
export class TenantsModule {}
