import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG } from '../../config';
import type { AppConfig } from '../../config';
import { RunSweepObserver } from '../../observability/observers';
import { RunSweepRepository } from './run-sweep.repository';

/**
 * Finishes runs left `running` by a process that can no longer end them (a
 * crash, SIGKILL, a database answer lost): at start and then every
 * sweepIntervalMs, a run `running` for longer than RUN_TIMEOUT_MS plus the
 * margin becomes `error` / `interrupted`. A live run never gets that old: it
 * stops at RUN_TIMEOUT_MS and writes its end at once. Safe with any number of
 * replicas sweeping (one conditional UPDATE); an outage only costs a warning,
 * and the next sweep tries again.
 */
@Injectable()
export class RunSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<unknown> | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: RunSweepRepository,
    private readonly observer: RunSweepObserver,
  ) {}

  onApplicationBootstrap(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.config.runs.sweepIntervalMs);
    // The sweeps are housekeeping: they never hold the process open.
    this.timer.unref();
  }

  /** Before the database closes: no new sweep, and the one in flight ends first. */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /** One sweep: the ids of the runs it finished. Never throws; a failure is reported and yields none. */
  async sweep(): Promise<string[]> {
    const olderThanMs = this.config.runs.timeoutMs + this.config.runs.sweepMarginMs;
    try {
      const runIds = await this.repository.finishInterrupted(olderThanMs);
      if (runIds.length > 0) this.observer.interrupted({ runIds, olderThanMs });
      return runIds;
    } catch (error) {
      this.observer.sweepFailed(error);
      return [];
    }
  }

  private tick(): void {
    // A sweep still waiting on a slow database is not doubled by the next tick.
    if (this.inFlight) return;
    this.inFlight = this.sweep().finally(() => (this.inFlight = undefined));
  }
}
