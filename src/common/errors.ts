/**
 * A failure the code anticipates (an outage, a refusal, a bad answer from a
 * dependency), with a low-cardinality class for `error.type` and `error_type`
 * (`timeout`, `http_503`, `budget_exceeded`). Logged as a warning without a
 * stack; any other error is a bug, logged at error with its stack.
 */
export abstract class ClassifiedError extends Error {
  abstract readonly errorType: string;
}

/** What a request depended on that could not answer. */
export type Dependency =
  | 'database'
  | 'budget_ledger'
  | 'llm_proxy'
  | 'run_slots'
  | 'revocation_channel'
  | 'run_cancellations';

/**
 * A dependency the request needs cannot answer now (an outage, or one that
 * is not configured): the client should try again later, so it answers 503.
 * Thrown by the adapters that meet the outage; the exception filter alone
 * turns it into the answer.
 */
export class DependencyUnavailableError extends ClassifiedError {
  readonly errorType: string;

  constructor(
    readonly dependency: Dependency,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'DependencyUnavailableError';
    this.errorType = `${dependency}_unavailable`;
  }
}

/**
 * A failure whose answer carries more than the error: a run that ended badly
 * answers with the error and the stored run, so the client has its id.
 */
export class FailureWithRecord extends Error {
  constructor(
    readonly failure: unknown,
    readonly record: Readonly<Record<string, unknown>>,
  ) {
    super(failure instanceof Error ? failure.message : String(failure), { cause: failure });
    this.name = 'FailureWithRecord';
  }
}
