import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { AppConfig, ConfigModule } from './config';
import { DatabaseModule } from './database';
import { HttpExceptionFilter } from './http/http-exception.filter';
import { createValidationPipe } from './http/validation.pipe';
import { InfoModule } from './info/info.module';
import { HealthModule } from './observability/health';
import { LoggingModule } from './observability/logging';
import { MetricsModule } from './observability/metrics';
import { TelemetryModule } from './observability/telemetry';
import { RedisModule } from './redis';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        // observability first: the platform modules depend on it
        LoggingModule,
        MetricsModule,
        TelemetryModule,
        HealthModule,
        DatabaseModule,
        RedisModule,
        InfoModule,
        // PLATFORM_MODULES (the agent platform, src/platform/*)
      ],
      providers: [
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
