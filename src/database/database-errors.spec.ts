import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailableError } from './database-errors';

function pgError(message: string, code?: string): Error {
  return Object.assign(new Error(message), code ? { code } : {});
}

describe(isDatabaseUnavailableError.name, () => {
  it.each([
    [
      'an admin termination (57P01) inside a QueryFailedError',
      new QueryFailedError(
        'SELECT 1',
        [],
        pgError('terminating connection due to administrator command', '57P01'),
      ),
    ],
    ['a connection exception class 08 SQLSTATE', pgError('connection failure', '08006')],
    ['too many connections', pgError('sorry, too many clients already', '53300')],
    ['a refused connection', pgError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a connection that died mid-query', pgError('Connection terminated unexpectedly')],
    ['a pool that could not connect in time', pgError('timeout exceeded when trying to connect')],
    [
      'a query runner released under a transaction',
      Object.assign(new Error('Query runner already released. Cannot run queries anymore.'), {
        name: 'QueryRunnerAlreadyReleasedError',
      }),
    ],
    ['a cause chain', new Error('wrapped', { cause: pgError('x', '57P03') })],
  ])('recognises %s', (_name, error) => {
    expect(isDatabaseUnavailableError(error)).toBe(true);
  });

  it.each([
    ['a unique violation', new QueryFailedError('INSERT', [], pgError('duplicate key', '23505'))],
    ['a syntax error', pgError('syntax error at or near', '42601')],
    ['a plain error', new Error('boom')],
    ['a non-error', 'Connection terminated'],
    ['undefined', undefined],
  ])('does not take %s for an outage', (_name, error) => {
    expect(isDatabaseUnavailableError(error)).toBe(false);
  });
});
