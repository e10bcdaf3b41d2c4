import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { AppConfig, ConfigModule } from './config';
import { DatabaseModule } from './database';
import { HttpExceptionFilter } from './http/http-exception.filter';
import { createValidationPipe } from './http/validation.pipe';
import { InfoModule } from './info/info.module';
import { HealthModule } from './observability/health';
import { createRootLogger, LoggingModule, RootLogger } from './observability/logging';
import { MetricsModule } from './observability/metrics';
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
        HealthModule.forRoot(config),
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
