import { ClassifiedError } from '../../common';
import { isSuccessfulRunStatus } from '../../observability/catalog';
import type { RunStatus } from '../../observability/catalog';

/**
 * The `error_type` of a run that ended badly, beside the classified failures'
 * own (`http_502`, `timeout`, `budget_exceeded`, `database_unavailable`, ...).
 * Clients and dashboards filter on them, so they change only with the docs.
 */
export const RUN_ERROR_TYPES = {
  /** Past RUN_TIMEOUT_MS: stopped at once, answered 504. */
  runTimeout: 'run_timeout',
  /** Found still `running` long after RUN_TIMEOUT_MS: its process died (crash, kill) or lost the write. */
  interrupted: 'interrupted',
  /** The client closed the connection; the run is `cancelled`. */
  clientClosed: 'client_closed',
  /** POST /v1/runs/:id/cancel stopped it; the run is `cancelled`. */
  cancelledByRequest: 'cancelled_by_request',
  /** A failure nobody anticipated (a bug): the log line has the stack, the record only this. */
  internal: 'internal',
} as const;

/** A run past RUN_TIMEOUT_MS, stopped at once: stored as `error` / `run_timeout`, answered 504. */
export class RunTimeoutError extends ClassifiedError {
  readonly errorType = RUN_ERROR_TYPES.runTimeout;

  constructor(readonly timeoutMs: number) {
    super(`The run did not finish within RUN_TIMEOUT_MS (${timeoutMs} ms) and was stopped`);
    this.name = 'RunTimeoutError';
  }
}

/** A run stopped by POST /v1/runs/:id/cancel: stored as `cancelled` / `cancelled_by_request`. */
export class RunCancelledByRequestError extends ClassifiedError {
  readonly errorType = RUN_ERROR_TYPES.cancelledByRequest;

  constructor() {
    super('The run was cancelled by POST /v1/runs/:id/cancel');
    this.name = 'RunCancelledByRequestError';
  }
}

/** The stored `error_type` of a run: null when it ended well, else why it did not. */
export function runErrorType(status: RunStatus, failure: Error | undefined): string | null {
  if (isSuccessfulRunStatus(status)) return null;
  if (status === 'cancelled') {
    return failure instanceof RunCancelledByRequestError
      ? RUN_ERROR_TYPES.cancelledByRequest
      : RUN_ERROR_TYPES.clientClosed;
  }
  return failure instanceof ClassifiedError ? failure.errorType : RUN_ERROR_TYPES.internal;
}

export interface RunDeadline {
  /**
   * Aborts when one of the run's stop signals does (the client leaving, a
   * cancel request: their reasons) or the time is up (a RunTimeoutError).
   */
  readonly signal: AbortSignal;
  /** Clears the timer; call once the run has ended. */
  dispose(): void;
}

/**
 * What stops one run: RUN_TIMEOUT_MS, or any of `stops` (its client leaving,
 * a cancel request). A timer of its own, cleared when the run ends, rather
 * than AbortSignal.timeout, whose timer would outlive every run by up to the
 * whole bound (at a few runs a second and 300 s, a thousand of them
 * pending). Unref'd: it never holds the process open.
 */
export function runDeadline(timeoutMs: number, ...stops: (AbortSignal | undefined)[]): RunDeadline {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new RunTimeoutError(timeoutMs)), timeoutMs);
  timer.unref();
  const signals = stops.filter((stop): stop is AbortSignal => stop !== undefined);
  const signal =
    signals.length > 0 ? AbortSignal.any([...signals, timeout.signal]) : timeout.signal;
  return { signal, dispose: () => clearTimeout(timer) };
}
