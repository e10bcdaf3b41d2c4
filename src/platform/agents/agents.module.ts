import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BudgetsModule } from '../budgets';
import { LlmModule } from '../llm/llm.module';
import { TenantsModule } from '../tenants';
import { ToolsModule } from '../tools/tools.module';
import { Agent } from './agent.entity';
import { AgentRunner } from './agent-runner.service';
import { AgentsController } from './agents.controller';
import { AgentsService } from './agents.service';
import { Run } from './run.entity';
import { RunsService } from './runs.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([Agent, Run]),
    TenantsModule,
    BudgetsModule,
    LlmModule,
    ToolsModule,
  ],
  controllers: [AgentsController],
  providers: [AgentsService, RunsService, AgentRunner],
  exports: [AgentRunner],
})
export class AgentsModule {}
