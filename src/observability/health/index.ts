export { HealthModule } from './health.module';
export { HealthService } from './health.service';
export { httpStatusOf } from './health.controller';
export { ShutdownState } from './shutdown-state';
export { enableGracefulShutdown } from './graceful-shutdown';
export type { GracefulShutdownOptions } from './graceful-shutdown';
export { CONNECTION_CLOSE_PLUGIN, connectionClosePlugin } from './connection-close.plugin';
export type { ConnectionCloseOptions } from './connection-close.plugin';
export type {
  ComponentReport,
  ComponentStatus,
  HealthComponent,
  HealthReport,
  HealthStatus,
} from './health.types';
