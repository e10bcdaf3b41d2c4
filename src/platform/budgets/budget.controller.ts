import { Controller, Get, ServiceUnavailableException, UseGuards } from '@nestjs/common';
import { CurrentTenant, TenantAuthGuard } from '../tenants';
import type { TenantAuth } from '../tenants';
import { BudgetUnavailableError } from './budget.errors';
import { TokenBudgetService } from './token-budget.service';

@Controller('v1/budget')
@UseGuards(TenantAuthGuard)
export class BudgetController {
  constructor(private readonly budgets: TokenBudgetService) {}

  @Get()
  async status(@CurrentTenant() auth: TenantAuth) {
    try {
      return await this.budgets.status(auth.tenantId, auth.limits);
    } catch (error) {
      if (error instanceof BudgetUnavailableError)
        throw new ServiceUnavailableException(error.message);
      throw error;
    }
  }
}
