import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import type { AppConfig } from '../../config';
import { HealthController, ProbesController } from './health.controller';
import { HealthService } from './health.service';
import { DatabaseHealthIndicator } from './indicators/database.health';
import { DiskSpaceHealthIndicator } from './indicators/disk.health';
import { LlmProxyHealthIndicator } from './indicators/llm-proxy.health';
import { RedisHealthIndicator } from './indicators/redis.health';
import { ShutdownState } from './shutdown-state';

/**
 * Kubernetes probes and the detailed health report on Terminus indicators,
 * and the draining state of a graceful shutdown. Global, like the other
 * pillars: the management listener serves its reports.
 */
@Module({})
export class HealthModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: HealthModule,
      global: true,
      // The health-check observer logs state changes; Terminus would log every failing probe.
      imports: [TerminusModule.forRoot({ logger: false })],
      // With a management port the detailed report is not routed on the API port at all (404).
      controllers:
        config.managementPort === undefined
          ? [ProbesController, HealthController]
          : [ProbesController],
      providers: [
        ShutdownState,
        HealthService,
        DatabaseHealthIndicator,
        RedisHealthIndicator,
        LlmProxyHealthIndicator,
        DiskSpaceHealthIndicator,
      ],
      exports: [HealthService, ShutdownState],
    };
  }
}
