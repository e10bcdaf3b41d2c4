// Preloaded with `node --require ./dist/src/instrumentation.js` before the
// application: the OpenTelemetry SDK must patch pg and ioredis before they
// are first required. With ENABLE_TELEMETRY unset it does nothing.
import { ConfigError, loadConfig } from './config';
import { startTelemetry } from './observability/telemetry';

try {
  const config = loadConfig(process.env);
  if (config.telemetry.enabled) startTelemetry(config);
} catch (error) {
  // main.ts reports an invalid configuration with its one clear line and exit code.
  if (!(error instanceof ConfigError)) throw error;
}
