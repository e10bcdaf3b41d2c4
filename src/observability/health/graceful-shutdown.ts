import type { INestApplication } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import { LOG_EVENTS } from '../catalog';
import { PinoLogger } from '../logging';
import { ShutdownState } from './shutdown-state';

export interface GracefulShutdownOptions {
  /** SHUTDOWN_DRAIN_MS: how long readiness reports 503 before the listener closes. */
  drainMs: number;
  /**
   * How long app.close() may take after the drain before the exit is forced:
   * RUN_TIMEOUT_MS, so a run started just before the listener closed can still
   * end (it stops by itself at that bound). The Helm chart's grace period sits
   * above SHUTDOWN_DRAIN_MS plus this.
   */
  closeBoundMs: number;
  signals?: readonly NodeJS.Signals[];
  /** Seams for tests; default to the real process. */
  exit?: (code: number) => void;
  signalSource?: Pick<NodeJS.Process, 'on' | 'off'>;
}

/**
 * Replaces Nest's enableShutdownHooks, which closes at once: on the first
 * SIGTERM or SIGINT readiness turns 503, the listener keeps serving for
 * SHUTDOWN_DRAIN_MS (Kubernetes needs that long to take the pod out of its
 * endpoints), then app.close() stops accepting, waits for in-flight requests
 * and runs the onApplicationShutdown hooks (telemetry flush, database and
 * Redis close), and the process exits 0. A second signal, a failed close or
 * the hard bound exits 1 at once. Returns a function that removes the handlers.
 */
export async function enableGracefulShutdown(
  app: INestApplication,
  options: GracefulShutdownOptions,
): Promise<() => void> {
  const logger = await app.resolve(PinoLogger);
  logger.setContext('Shutdown');
  const {
    drainMs,
    closeBoundMs,
    signals = ['SIGTERM', 'SIGINT'],
    exit = (code: number) => process.exit(code),
    signalSource = process,
  } = options;
  let startedAt: number | undefined;

  const shutDown = async (signal: NodeJS.Signals): Promise<void> => {
    startedAt = performance.now();
    app.get(ShutdownState).startDraining();
    logger.info(
      {
        event: LOG_EVENTS.appShutdown,
        phase: 'draining',
        signal,
        drain_ms: drainMs,
        close_bound_ms: closeBoundMs,
      },
      'Shutdown requested: readiness reports 503 while the listener drains',
    );
    const bound = setTimeout(() => {
      logger.error(
        {
          event: LOG_EVENTS.appShutdown,
          phase: 'forced',
          reason: 'timeout',
          bound_ms: drainMs + closeBoundMs,
        },
        'Shutdown took too long: exiting now',
      );
      exit(1);
    }, drainMs + closeBoundMs);
    await delay(drainMs);
    logger.info(
      { event: LOG_EVENTS.appShutdown, phase: 'closing' },
      'Drain over: closing the listener and waiting for in-flight requests',
    );
    try {
      await app.close();
    } catch (error) {
      clearTimeout(bound);
      logger.error(
        { event: LOG_EVENTS.appShutdown, phase: 'forced', reason: 'close failed', err: error },
        'Shutdown failed',
      );
      exit(1);
      return;
    }
    clearTimeout(bound);
    logger.info(
      {
        event: LOG_EVENTS.appShutdown,
        phase: 'closed',
        duration_ms: Math.round(performance.now() - startedAt),
      },
      'Shut down cleanly',
    );
    exit(0);
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (startedAt !== undefined) {
      logger.error(
        { event: LOG_EVENTS.appShutdown, phase: 'forced', reason: 'second signal', signal },
        'Second signal during shutdown: exiting now',
      );
      exit(1);
      return;
    }
    void shutDown(signal);
  };

  for (const signal of signals) signalSource.on(signal, onSignal);
  return () => {
    for (const signal of signals) signalSource.off(signal, onSignal);
  };
}
