import Fastify, { FastifyInstance } from 'fastify';
import { get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { captureLogs, LogCapture } from '../../../test/helpers/log-capture';
import { waitFor } from '../../../test/helpers/wait-for';
import { loadConfig } from '../../config';
import { bindTenantContext, requestContextPlugin } from '../context';
import { accessLogPlugin } from './access-log.plugin';
import { createRootLogger } from './root-logger';

async function appWithAccessLog(
  level: string,
): Promise<{ app: FastifyInstance; logs: LogCapture }> {
  const logs = captureLogs();
  const logger = createRootLogger(
    loadConfig({ LOG_FORMAT: 'json', LOG_LEVEL: level }),
    logs.destination,
  );
  const app = Fastify();
  await app.register(requestContextPlugin);
  await app.register(accessLogPlugin, { logger });
  app.get('/v1/agents/:id', (_request, reply) => {
    bindTenantContext('tenant-a');
    void reply.send({ ok: true });
  });
  app.get('/v1/boom', () => Promise.reject(new Error('boom')));
  app.get('/health/live', (_request, reply) => void reply.send({ status: 'ok' }));
  app.get('/metrics', (_request, reply) => void reply.send(''));
  await app.ready();
  return { app, logs };
}

describe('accessLogPlugin', () => {
  it('writes one http.request.completed line with route template, path without query, status and duration', async () => {
    const { app, logs } = await appWithAccessLog('info');
    const res = await app.inject({
      url: '/v1/agents/42?token=secret-token&q=1',
      headers: { 'x-request-id': 'req-abc', authorization: 'Bearer eap_secret', cookie: 'sid=s' },
    });
    expect(res.statusCode).toBe(200);
    const lines = logs.lines();
    expect(lines).toEqual([
      {
        timestamp: expect.any(String),
        level: 'info',
        event: 'http.request.completed',
        request_id: 'req-abc',
        tenant_id: 'tenant-a',
        method: 'GET',
        route: '/v1/agents/:id',
        path: '/v1/agents/42',
        status: 200,
        duration_ms: expect.any(Number),
        message: 'Request completed',
      },
    ]);
    expect(logs.raw.join('')).not.toMatch(/secret-token|eap_secret|sid=s/);
  });

  it('files unmatched requests under route "unmatched" with their status', async () => {
    const { app, logs } = await appWithAccessLog('info');
    await app.inject({ url: '/nothing/here' });
    await app.inject({ url: '/v1/boom' });
    expect(logs.events('http.request.completed')).toEqual([
      expect.objectContaining({ route: 'unmatched', path: '/nothing/here', status: 404 }),
      expect.objectContaining({ route: '/v1/boom', status: 500 }),
    ]);
  });

  it('keeps probes and scrapes out of info, and logs them at debug', async () => {
    const info = await appWithAccessLog('info');
    await info.app.inject({ url: '/health/live' });
    await info.app.inject({ url: '/metrics' });
    expect(info.logs.raw).toHaveLength(0);

    const debug = await appWithAccessLog('debug');
    await debug.app.inject({ url: '/health/live' });
    expect(debug.logs.lines()).toEqual([
      expect.objectContaining({ level: 'debug', route: '/health/live' }),
    ]);
  });

  it('registers nothing when info lines are off', async () => {
    for (const level of ['warn', 'silent']) {
      const { app, logs } = await appWithAccessLog(level);
      await app.inject({ url: '/v1/agents/1' });
      expect(logs.raw).toHaveLength(0);
    }
  });

  it('writes the line of a request the client abandons, with status 499, once', async () => {
    const logs = captureLogs();
    const logger = createRootLogger(
      loadConfig({ LOG_FORMAT: 'json', LOG_LEVEL: 'info' }),
      logs.destination,
    );
    const app = Fastify();
    await app.register(requestContextPlugin);
    await app.register(accessLogPlugin, { logger });
    let answer: (() => void) | undefined;
    const handlerStarted = new Promise<void>((started) => {
      app.get('/v1/slow', (_request, reply) => {
        answer = () => void reply.send({ late: true });
        started();
      });
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = app.server.address() as AddressInfo;
      const client = httpGet({ port, host: '127.0.0.1', path: '/v1/slow' });
      client.on('error', () => undefined);
      await handlerStarted;
      client.destroy();
      await waitFor(() => logs.raw.length > 0);
      answer?.();
      expect(logs.lines()).toEqual([
        expect.objectContaining({
          event: 'http.request.completed',
          route: '/v1/slow',
          status: 499,
          duration_ms: expect.any(Number),
        }),
      ]);
    } finally {
      await app.close();
    }
    expect(logs.raw).toHaveLength(1);
  });

  it('bounds a very long path', async () => {
    const { app, logs } = await appWithAccessLog('info');
    await app.inject({ url: `/${'p'.repeat(10_000)}` });
    expect(logs.raw[0].length).toBeLessThan(4096);
  });
});
