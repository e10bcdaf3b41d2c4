import { createApp } from './bootstrap';
import { ConfigError, loadConfig } from './config';
import { LOG_EVENTS } from './observability/catalog';
import { enableGracefulShutdown } from './observability/health';
import { createRootLogger, PinoLogger } from './observability/logging';
import type { RootLogger } from './observability/logging';
import { ManagementServer } from './observability/management';

/** Set once the configuration is valid, so a start-up failure is a JSON line like any other. */
let logger: RootLogger | undefined;

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  logger = createRootLogger(config);
  const app = await createApp(config, { logger });
  await enableGracefulShutdown(app, {
    drainMs: config.shutdownDrainMs,
    closeBoundMs: config.runs.timeoutMs,
  });
  await app.listen({ port: config.http.port, host: config.http.host });
  const address = app.getHttpServer().address();
  const bootstrapLogger = await app.resolve(PinoLogger);
  bootstrapLogger.setContext('Bootstrap');
  bootstrapLogger.info(
    {
      event: LOG_EVENTS.appStarted,
      port: typeof address === 'object' && address ? address.port : config.http.port,
      management_port: app.get(ManagementServer).port,
    },
    'Listening',
  );
}

main().catch((error: unknown) => {
  // An invalid variable, including one checked while the app is built (LLM_PRICES_FILE): one line.
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  if (logger?.isLevelEnabled('fatal')) {
    logger.fatal({ event: LOG_EVENTS.appStartFailed, err: error }, 'Start-up failed');
  } else {
    process.stderr.write(
      `Start-up failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exit(1);
});
