import { describeFailure, HealthCheckFailure, scrub } from './health-failure';

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe(describeFailure.name, () => {
  it.each([
    [withCode('connect ECONNREFUSED 10.0.0.7:5432', 'ECONNREFUSED'), 'connection refused'],
    [withCode('getaddrinfo ENOTFOUND db.internal', 'ENOTFOUND'), 'host not found'],
    [withCode("ENOENT: no such file or directory, statfs '/mnt/x'", 'ENOENT'), 'path not found'],
    [new Error("Stream isn't writeable and enableOfflineQueue options is false"), 'not connected'],
    [new Error('Command timed out'), 'timed out'],
    [new Error('Connection terminated unexpectedly'), 'connection reset'],
  ])('names %p as %p', (error, expected) => {
    expect(describeFailure(error)).toBe(expected);
  });

  it('reads the code of a wrapped cause (fetch failed)', () => {
    const error = new TypeError('fetch failed', {
      cause: withCode('connect ECONNREFUSED 127.0.0.1:4000', 'ECONNREFUSED'),
    });
    expect(describeFailure(error)).toBe('connection refused');
  });

  it('keeps the message of a HealthCheckFailure', () => {
    expect(describeFailure(new HealthCheckFailure('HTTP 503'))).toBe('HTTP 503');
  });

  it('never returns credentials, URLs or addresses from an unknown error', () => {
    const text = describeFailure(
      new Error(
        'password authentication failed for postgres://admin:hunter2@db.internal:5432/app at 10.1.2.3:5432 via [::1]:6379',
      ),
    );
    expect(text).not.toMatch(/hunter2|admin|db\.internal|10\.1\.2\.3|::1|postgres:\/\//);
    expect(text.length).toBeLessThanOrEqual(80);
  });

  it('says something even for a non-error', () => {
    expect(describeFailure(undefined)).toBe('undefined');
    expect(describeFailure('')).toBe('check failed');
  });
});

describe(scrub.name, () => {
  it('truncates long messages', () => {
    expect(scrub('x'.repeat(200))).toHaveLength(80);
  });

  it('removes user@host forms', () => {
    expect(scrub('login failed for admin@db')).toBe('login failed for [redacted]');
  });
});
