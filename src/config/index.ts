export { APP_CONFIG, LOG_LEVELS } from './app-config';
export type { AppConfig, LogLevel } from './app-config';
export { ConfigModule } from './config.module';
export { ConfigError, loadConfig } from './load-config';
export type { Env } from './load-config';
