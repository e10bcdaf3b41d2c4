import { Module } from '@nestjs/common';
import { RedisService } from '../../redis';
import { BudgetsModule } from '../budgets';
import { LlmModule } from '../llm';
import { TenantScopedRepositoryModule, TenantsModule } from '../tenants';
import { ToolsModule } from '../tools';
import { Agent } from './agent.entity';
import { MemoryRunSlotStore } from './memory-run-slot.store';
import { RedisRunSlotStore } from './redis-run-slot.store';
import { RUN_SLOT_STORE } from './run-slot-store';
import type { RunSlotStore } from './run-slot-store';
import { AgentRunner } from './agent-runner.service';
import { AgentsController } from './agents.controller';
import { AgentsService } from './agents.service';
import { RunCancellations } from './run-cancellations.service';
import { RunSweepRepository } from './run-sweep.repository';
import { RunSweeper } from './run-sweeper.service';
import { Run } from './run.entity';
import { RunsService } from './runs.service';
import { TenantRunSlots } from './tenant-run-slots.service';

@Module({
  imports: [
    TenantScopedRepositoryModule.forFeature([Agent, Run]),
    TenantsModule,
    BudgetsModule,
    LlmModule,
    ToolsModule,
  ],
  controllers: [AgentsController],
  providers: [
    AgentsService,
    RunsService,
    AgentRunner,
    {
      provide: RUN_SLOT_STORE,
      inject: [RedisService],
      // Without REDIS_URL the slots live in this process: correct for one replica only.
      useFactory: (redis: RedisService): RunSlotStore =>
        redis.client
          ? new RedisRunSlotStore(redis.client, redis.keyPrefix)
          : new MemoryRunSlotStore(),
    },
    TenantRunSlots,
    RunCancellations,
    RunSweepRepository,
    RunSweeper,
  ],
  exports: [AgentRunner],
})
export class AgentsModule {}
