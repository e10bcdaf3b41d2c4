import { Module } from '@nestjs/common';
import { RedisService } from '../../redis';
import { TenantsModule } from '../tenants';
import { BudgetController } from './budget.controller';
import { BUDGET_STORE } from './budget-store';
import type { BudgetStore } from './budget-store';
import { MemoryBudgetStore } from './memory-budget.store';
import { RedisBudgetStore } from './redis-budget.store';
import { TokenBudgetService } from './token-budget.service';

@Module({
  imports: [TenantsModule],
  controllers: [BudgetController],
  providers: [
    {
      provide: BUDGET_STORE,
      inject: [RedisService],
      // Without REDIS_URL the ledger lives in this process: correct for one replica only.
      useFactory: (redis: RedisService): BudgetStore =>
        redis.client
          ? new RedisBudgetStore(redis.client, redis.keyPrefix)
          : new MemoryBudgetStore(),
    },
    TokenBudgetService,
  ],
  exports: [TokenBudgetService],
})
export class BudgetsModule {}
