import { ensureAppBuilt, spawnApp } from '../../helpers/spawn-app';

// The built app as `npm run start:prod` runs it: lines reach stdout through
// pino's asynchronous destination, the preload starts telemetry first.
describe('log output of the production process', () => {
  beforeAll(() => ensureAppBuilt());

  it('writes only JSON lines to stdout, from the first line to app.shutdown, with trace ids on request lines', async () => {
    const app = await spawnApp({
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      ENABLE_TELEMETRY: 'true',
      // nothing listens there: spans are dropped, logs are unaffected
      OTLP_ENDPOINT: 'http://127.0.0.1:9',
    });
    try {
      const res = await fetch(`${app.url}/v1/info?token=never-logged`, {
        headers: { 'x-request-id': 'stdout-1', authorization: 'Bearer never-logged' },
      });
      expect(res.status).toBe(200);
      const access = await app.waitForLog(
        (line) => line.event === 'http.request.completed' && line.request_id === 'stdout-1',
      );
      expect(access).toMatchObject({
        level: 'info',
        route: '/v1/info',
        path: '/v1/info',
        status: 200,
        trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
        span_id: expect.stringMatching(/^[0-9a-f]{16}$/),
      });
    } finally {
      const exit = await app.stop('SIGTERM');
      expect(exit.code).toBe(0);
    }
    const events = app.jsonLogs().map((line) => line.event);
    expect(events).toEqual(
      expect.arrayContaining(['telemetry.initialized', 'app.started', 'app.shutdown']),
    );
    const nonJson = app.logs.filter((line) => line.trim() !== '' && !line.startsWith('{'));
    expect(nonJson).toEqual([]);
    expect(app.logs.join('\n')).not.toContain('never-logged');
  });

  it('writes nothing at all with LOG_LEVEL=silent', async () => {
    const app = await spawnApp({ NODE_ENV: 'production', LOG_LEVEL: 'silent' });
    await fetch(`${app.url}/v1/info`);
    const exit = await app.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(app.logs.filter((line) => line.trim() !== '')).toEqual([]);
  });
});
