import { randomUUID } from 'node:crypto';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ClassifiedError, DependencyUnavailableError } from '../../common';
import { APP_CONFIG } from '../../config';
import type { AppConfig } from '../../config';
import { RunAdmissionObserver } from '../../observability/observers';
import { RUN_SLOT_STORE } from './run-slot-store';
import type { RunSlotStore } from './run-slot-store';

/** A slot outlives its run's worst case (RUN_TIMEOUT_MS) by this much, so a slow release never frees it early. */
const SLOT_MARGIN_MS = 60_000;

/** How long a slot is held unless released first: a replica that dies holds it no longer. */
export function runSlotHoldMs(config: AppConfig): number {
  return config.runs.timeoutMs + SLOT_MARGIN_MS;
}

/** Runs end in seconds, not minutes: asking again in a second is a fair first guess. */
const RETRY_AFTER_SECONDS = 1;
/** A failed release is tried again after this, doubling up to the cap, until the slot would expire anyway. */
const RELEASE_RETRY_FIRST_MS = 500;
const RELEASE_RETRY_MAX_MS = 30_000;

/** The tenant already has TENANT_MAX_CONCURRENT_RUNS runs in flight (429). */
export class TenantConcurrencyLimitError extends ClassifiedError {
  readonly errorType = 'tenant_concurrency';
  readonly retryAfterSeconds = RETRY_AFTER_SECONDS;

  constructor(
    readonly limit: number,
    readonly inFlight: number,
  ) {
    super(
      `Too many runs in flight for this tenant: ${inFlight} of at most ${limit} (TENANT_MAX_CONCURRENT_RUNS); retry when one ends`,
    );
    this.name = 'TenantConcurrencyLimitError';
  }
}

/** The shared run slots (Redis) cannot answer: a run is never let through uncounted (503). */
export class RunSlotsUnavailableError extends DependencyUnavailableError {
  constructor(cause: unknown) {
    super('run_slots', 'The run concurrency ledger is unavailable; try again shortly', { cause });
    this.name = 'RunSlotsUnavailableError';
  }
}

/** A run's place among its tenant's runs in flight. */
export interface RunSlot {
  /** Gives the slot back; never throws, and a second call does nothing. */
  release(): Promise<void>;
}

/**
 * At most TENANT_MAX_CONCURRENT_RUNS runs in flight per tenant, across every
 * replica: a run takes a slot before it starts and gives it back when it
 * ends, whatever the outcome. A slot that is never given back (a crash, a
 * release lost to a Redis outage) expires after one run's worst case.
 */
@Injectable()
export class TenantRunSlots implements OnApplicationShutdown {
  private readonly retries = new Set<NodeJS.Timeout>();

  constructor(
    @Inject(RUN_SLOT_STORE) private readonly store: RunSlotStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly observer: RunAdmissionObserver,
  ) {}

  /** Throws TenantConcurrencyLimitError past the limit, RunSlotsUnavailableError when the store is down. */
  async acquire(tenantId: string): Promise<RunSlot> {
    const limit = this.config.limits.tenantMaxConcurrentRuns;
    const slotId = randomUUID();
    const acquiredAt = Date.now();
    const holdMs = runSlotHoldMs(this.config);
    let grant;
    try {
      grant = await this.store.acquire(tenantId, slotId, limit, holdMs);
    } catch (error) {
      throw new RunSlotsUnavailableError(error);
    }
    if (!grant.granted) {
      this.observer.refused({
        reason: 'tenant_concurrency',
        tenantId,
        limit,
        inFlight: grant.inFlight,
      });
      throw new TenantConcurrencyLimitError(limit, grant.inFlight);
    }
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        try {
          await this.store.release(tenantId, slotId);
        } catch (error) {
          const expiresAt = acquiredAt + holdMs;
          this.observer.slotReleaseFailed(error, Math.max(0, expiresAt - Date.now()));
          // A short outage would otherwise cost the tenant a slot for a whole hold time.
          this.retryRelease(tenantId, slotId, expiresAt, RELEASE_RETRY_FIRST_MS);
        }
      },
    };
  }

  /** Retries still pending die with the process; their slots expire as a crashed replica's do. */
  onApplicationShutdown(): void {
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
  }

  private retryRelease(tenantId: string, slotId: string, expiresAt: number, delayMs: number): void {
    if (Date.now() + delayMs >= expiresAt) return;
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      this.store.release(tenantId, slotId).catch(() => {
        this.retryRelease(tenantId, slotId, expiresAt, Math.min(delayMs * 2, RELEASE_RETRY_MAX_MS));
      });
    }, delayMs);
    timer.unref();
    this.retries.add(timer);
  }
}
