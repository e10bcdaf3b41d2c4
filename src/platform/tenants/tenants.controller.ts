import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { AdminGuard } from './admin.guard';
import { apiKeyView } from './api-key.view';
import { CreateApiKeyDto, CreateTenantDto } from './tenants.dto';
import { TenantsService } from './tenants.service';

@Controller('v1/tenants')
@UseGuards(AdminGuard)
export class TenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Post()
  @HttpCode(201)
  async create(@Body() body: CreateTenantDto) {
    const { tenant, apiKey } = await this.tenants.createTenant({
      name: body.name,
      dailyTokenLimit: body.daily_token_limit,
      monthlyTokenLimit: body.monthly_token_limit,
      userId: body.user_id ?? 'owner',
    });
    return {
      tenant: {
        id: tenant.id,
        name: tenant.name,
        daily_token_limit: tenant.dailyTokenLimit,
        monthly_token_limit: tenant.monthlyTokenLimit,
      },
      api_key: apiKey,
    };
  }

  @Post(':id/api-keys')
  @HttpCode(201)
  async createApiKey(@Param('id') tenantId: string, @Body() body: CreateApiKeyDto) {
    return {
      api_key: await this.tenants.createApiKey(tenantId, body.user_id),
      user_id: body.user_id,
    };
  }

  @Get(':id/api-keys')
  async listApiKeys(@Param('id') tenantId: string) {
    return (await this.tenants.listApiKeys(tenantId)).map(apiKeyView);
  }

  @Delete(':id/api-keys/:keyId')
  @HttpCode(204)
  async revokeApiKey(@Param('id') tenantId: string, @Param('keyId') keyId: string): Promise<void> {
    await this.tenants.revokeApiKey(tenantId, keyId);
  }
}
