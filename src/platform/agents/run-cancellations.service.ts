import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { DependencyUnavailableError, isUuid } from '../../common';
import { PinoLogger } from '../../observability/logging';
import { RunControlObserver } from '../../observability/observers';
import { RedisChannel, RedisService } from '../../redis';
import { RunCancelledByRequestError } from './run-errors';

/** The run is on another replica, and Redis could not carry the request there (503: retry). */
export class RunCancelNotPublishedError extends DependencyUnavailableError {
  constructor(cause: unknown) {
    super(
      'run_cancellations',
      'The run could not be told to stop (it runs on another replica and Redis is unavailable); retry the request',
      { cause },
    );
    this.name = 'RunCancelNotPublishedError';
  }
}

/** One run's place in the registry: what stops it, and how it leaves. */
export interface RunCancellation {
  /** Aborts, with a RunCancelledByRequestError, when a cancel request reaches this replica. */
  readonly signal: AbortSignal;
  /** The run has ended: later requests find nothing to stop here. */
  release(): void;
}

interface RunningRun {
  readonly controller: AbortController;
  /** Resolves when the run is released (it has ended and is stored). */
  readonly released: Promise<void>;
  readonly resolve: () => void;
}

/**
 * Cancel requests reach the replica that runs the run. Each replica keeps the
 * runs it works on (blocking, streamed and background alike) by id; a request
 * for a run that is here aborts it at once, one for a run that is not is
 * published on a Redis channel every replica listens to, and the replica
 * that has it aborts it. Without Redis there is one process, and the registry
 * is the whole story. A replica whose subscription is down hears no request
 * meanwhile (the run goes on; the cancel endpoint says it was not confirmed).
 */
@Injectable()
export class RunCancellations implements OnModuleInit, OnApplicationShutdown {
  private readonly running = new Map<string, RunningRun>();
  private readonly channel: RedisChannel;

  constructor(
    redis: RedisService,
    private readonly observer: RunControlObserver,
    logger: PinoLogger,
  ) {
    logger.setContext(RunCancellations.name);
    this.channel = new RedisChannel(redis, logger, {
      name: 'run-cancel',
      connectionName: 'eap-run-cancels',
      accepts: isUuid,
      onMessage: (runId) => void this.abortHere(runId),
    });
  }

  /** Gives the first subscription a moment, so a cancel sent right after start is heard. */
  onModuleInit(): Promise<void> {
    return this.channel.waitForFirstSubscription();
  }

  /** Registers a run before it is stored, so a request can never find it stored and not here. */
  register(runId: string): RunCancellation {
    let resolve: () => void = () => undefined;
    const released = new Promise<void>((done) => (resolve = done));
    const entry: RunningRun = { controller: new AbortController(), released, resolve };
    this.running.set(runId, entry);
    return {
      signal: entry.controller.signal,
      release: () => {
        if (this.running.get(runId) === entry) this.running.delete(runId);
        entry.resolve();
      },
    };
  }

  /**
   * Stops the run wherever it runs: here at once, elsewhere through Redis.
   * Returns, for a run that is here, a promise of its end (stored); else undefined.
   * @throws RunCancelNotPublishedError when the run is not here and Redis cannot carry the request
   */
  async request(runId: string): Promise<Promise<void> | undefined> {
    const here = this.abortHere(runId);
    if (here) {
      this.observer.cancelRequested(runId, 'local');
      return here;
    }
    let published: boolean;
    try {
      published = await this.channel.publish(runId);
    } catch (error) {
      throw new RunCancelNotPublishedError(error);
    }
    if (published) this.observer.cancelRequested(runId, 'published');
    return undefined;
  }

  onApplicationShutdown(): Promise<void> {
    return this.channel.close();
  }

  /** Aborts the run if it is here; its end's promise then, else undefined. */
  private abortHere(runId: string): Promise<void> | undefined {
    const entry = this.running.get(runId);
    if (!entry) return undefined;
    if (!entry.controller.signal.aborted) entry.controller.abort(new RunCancelledByRequestError());
    return entry.released;
  }
}
