import { Module } from '@nestjs/common';
import { BudgetsModule } from '../budgets';
import { LlmModule } from '../llm';
import { TenantScopedRepositoryModule, TenantsModule } from '../tenants';
import { ToolsModule } from '../tools';
import { Agent } from './agent.entity';
import { AgentRunner } from './agent-runner.service';
import { AgentsController } from './agents.controller';
import { AgentsService } from './agents.service';
import { RunSweepRepository } from './run-sweep.repository';
import { RunSweeper } from './run-sweeper.service';
import { Run } from './run.entity';
import { RunsService } from './runs.service';

@Module({
  imports: [
    TenantScopedRepositoryModule.forFeature([Agent, Run]),
    TenantsModule,
    BudgetsModule,
    LlmModule,
    ToolsModule,
  ],
  controllers: [AgentsController],
  providers: [AgentsService, RunsService, AgentRunner, RunSweepRepository, RunSweeper],
  exports: [AgentRunner],
})
export class AgentsModule {}
