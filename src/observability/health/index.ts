export { HealthModule } from './health.module';
export { HealthService } from './health.service';
export { ShutdownState } from './shutdown-state';
export { ManagementServer } from './management.server';
export type { MetricsEndpoint } from './management.server';
export { enableGracefulShutdown } from './graceful-shutdown';
export { registerDrainHooks } from './drain.hooks';
export type { GracefulShutdownOptions } from './graceful-shutdown';
export type {
  ComponentReport,
  ComponentStatus,
  HealthComponent,
  HealthReport,
  HealthStatus,
} from './health.types';
