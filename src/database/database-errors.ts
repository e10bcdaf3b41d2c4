/**
 * SQLSTATE classes that mean "the server or the connection is gone", not "the
 * query is wrong": 08 connection exception, 57P01..57P03 admin/crash shutdown
 * and cannot-connect-now, 53300 too many connections.
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;

const UNAVAILABLE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

// What node-postgres throws, without a code, when a connection dies or the pool cannot get one.
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect$/,
  /^Query read timeout$/,
  /Client has encountered a connection error and is not queryable/,
  /^Client was closed and is not queryable$/,
];

/**
 * True when a database call failed because PostgreSQL could not be reached or
 * dropped the connection (a restart, a failover, pg_terminate_backend): a
 * transient outage that the caller should see as 503, not a bug (500).
 * Looks through TypeORM's QueryFailedError (driverError) and error causes.
 */
export function isDatabaseUnavailableError(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current instanceof Error && !seen.has(current)) {
    const failure: Error & { code?: unknown; driverError?: unknown } = current;
    seen.add(failure);
    if (typeof failure.code === 'string') {
      const code = failure.code;
      if (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NETWORK_CODES.has(code)) return true;
    }
    if (UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(failure.message))) return true;
    // TypeORM releases a query runner whose connection errored; its next statement (the rest
    // of a save()'s transaction) then fails with this instead of the connection error.
    if (failure.name === 'QueryRunnerAlreadyReleasedError') return true;
    current = failure.driverError ?? failure.cause;
  }
  return false;
}
