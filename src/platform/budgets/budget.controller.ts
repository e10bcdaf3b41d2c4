import { Controller, Get, UseGuards } from '@nestjs/common';
import { CurrentTenant, TenantAuthGuard } from '../tenants';
import type { TenantAuth } from '../tenants';
import { TokenBudgetService } from './token-budget.service';

@Controller('v1/budget')
@UseGuards(TenantAuthGuard)
export class BudgetController {
  constructor(private readonly budgets: TokenBudgetService) {}

  @Get()
  status(@CurrentTenant() auth: TenantAuth) {
    return this.budgets.status(auth.tenantId, auth.limits);
  }
}
