import { formatAccessLine, type AccessLine } from './access-line';
import { LOG_LIMITS, REDACTED } from './log-sanitizer';

const BASE: AccessLine = {
  level: 'info',
  requestId: 'req_1',
  method: 'GET',
  route: '/v1/info',
  path: '/v1/info',
  status: 200,
  durationMs: 1.25,
};

function parse(line: string): Record<string, unknown> {
  expect(line.endsWith('}\n')).toBe(true);
  expect(line.indexOf('\n')).toBe(line.length - 1);
  return JSON.parse(line) as Record<string, unknown>;
}

describe(formatAccessLine.name, () => {
  it('writes the line pino would: level, ISO timestamp, event, the request fields, message', () => {
    expect(
      parse(formatAccessLine({ ...BASE, tenantId: 't-1', userId: 'u-1', agentId: 'a-1' })),
    ).toEqual({
      level: 'info',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      event: 'http.request.completed',
      request_id: 'req_1',
      tenant_id: 't-1',
      user_id: 'u-1',
      agent_id: 'a-1',
      method: 'GET',
      route: '/v1/info',
      path: '/v1/info',
      status: 200,
      duration_ms: 1.25,
      message: 'Request completed',
    });
  });

  it('leaves out the fields a request does not have', () => {
    const line = parse(formatAccessLine({ ...BASE, requestId: undefined, level: 'debug' }));
    expect(line).not.toHaveProperty('request_id');
    expect(line).not.toHaveProperty('tenant_id');
    expect(line).not.toHaveProperty('trace_id');
    expect(line.level).toBe('debug');
  });

  it('keeps one line, valid JSON, whatever the client put in the path', () => {
    const hostile = '/v1/"quoted"\\back\nslash\r\u001b[31mred\u0000\u2028é✓\ud800';
    const line = parse(formatAccessLine({ ...BASE, path: hostile, method: 'G"ET' }));
    expect(line.path).toBe(hostile);
    expect(line.method).toBe('G"ET');
  });

  it('cleans each string as the logger would: credentials redacted, long values cut, URLs stripped', () => {
    const line = parse(
      formatAccessLine({
        ...BASE,
        userId: 'Bearer eyJhbGciOi',
        tenantId: 't'.repeat(LOG_LIMITS.maxStringLength + 10),
        path: 'https://user:pw@example.com/x?token=1',
      }),
    );
    expect(line.user_id).toBe(REDACTED);
    expect(line.tenant_id).toBe(`${'t'.repeat(LOG_LIMITS.maxStringLength)}...[truncated 10 chars]`);
    expect(line.path).toBe('https://example.com/x');
  });

  it('carries the ids of the request’s sampled span', () => {
    const trace = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
    expect(parse(formatAccessLine({ ...BASE, trace }))).toMatchObject({
      trace_id: trace.traceId,
      span_id: trace.spanId,
    });
  });

  it('writes null for a duration that is not a number', () => {
    expect(parse(formatAccessLine({ ...BASE, durationMs: Number.NaN })).duration_ms).toBeNull();
  });
  it('escapes and cleans a request id that is not a plain token, as any other field', () => {
    expect(parse(formatAccessLine({ ...BASE, requestId: 'a"b\\c\nd' })).request_id).toBe(
      'a"b\\c\nd',
    );
    expect(parse(formatAccessLine({ ...BASE, requestId: 'Bearer eyJhbGciOi' })).request_id).toBe(
      REDACTED,
    );
    expect(parse(formatAccessLine({ ...BASE, requestId: 'req_Ab-1.2' })).request_id).toBe(
      'req_Ab-1.2',
    );
  });

  it('writes each route and path right, for more routes than it remembers', () => {
    for (let i = 0; i < 2500; i++) {
      const route = `/v1/r${i}/:id`;
      const line = parse(
        formatAccessLine({
          ...BASE,
          method: i % 2 ? 'POST' : 'GET',
          route,
          path: `/v1/r${i}/7?q=1`,
        }),
      );
      expect(line).toMatchObject({ method: i % 2 ? 'POST' : 'GET', route, path: `/v1/r${i}/7` });
    }
    expect(parse(formatAccessLine({ ...BASE, route: '/v1/x', path: '/v1/x' })).path).toBe('/v1/x');
  });
});
