import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { AppConfig, ConfigModule } from './config';
import { DatabaseModule } from './database';
import { createValidationPipe, HttpExceptionFilter } from './http';
import { InfoModule } from './info';
import { HealthModule } from './observability/health';
import { createRootLogger, LoggingModule } from './observability/logging';
import type { RootLogger } from './observability/logging';
import { ManagementModule } from './observability/management';
import { MetricsModule } from './observability/metrics';
import { ObserversModule } from './observability/observers';
import { TelemetryModule } from './observability/telemetry';
import { AgentsModule } from './platform/agents';
import { BudgetsModule } from './platform/budgets';
import { KnowledgeModule } from './platform/knowledge';
import { TenantsModule } from './platform/tenants';
import { RedisModule } from './redis';

@Module({})
export class AppModule {
  static forRoot(
    config: AppConfig,
    rootLogger: RootLogger = createRootLogger(config),
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        // observability first: the platform modules depend on it
        LoggingModule.forRoot(rootLogger),
        MetricsModule.forRoot(config),
        TelemetryModule.forRoot(config),
        ObserversModule,
        HealthModule.forRoot(config),
        ManagementModule,
        DatabaseModule,
        RedisModule,
        InfoModule,
        // the agent platform
        TenantsModule,
        BudgetsModule,
        KnowledgeModule,
        AgentsModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
