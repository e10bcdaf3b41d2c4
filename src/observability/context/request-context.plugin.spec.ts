import Fastify, { type FastifyInstance } from 'fastify';
import { currentRequestContext } from './request-context';
import { addAfterBodyHook, requestContextPlugin } from './request-context.plugin';

async function buildServer(): Promise<FastifyInstance> {
  const fastify = Fastify();
  await fastify.register(requestContextPlugin);
  return fastify;
}

describe('requestContextPlugin', () => {
  it('keeps the request context in handlers with and without a body', async () => {
    const fastify = await buildServer();
    fastify.get('/v1/read', () => ({ request_id: currentRequestContext()?.requestId ?? null }));
    fastify.post('/v1/write', async () => {
      await Promise.resolve();
      return { request_id: currentRequestContext()?.requestId ?? null };
    });
    fastify.route({
      method: ['GET', 'PUT'],
      url: '/v1/both',
      handler: () => ({ request_id: currentRequestContext()?.requestId ?? null }),
    });

    const headers = { 'x-request-id': 'req-abc' };
    const read = await fastify.inject({ method: 'GET', url: '/v1/read', headers });
    const write = await fastify.inject({
      method: 'POST',
      url: '/v1/write',
      headers,
      payload: { a: 1 },
    });
    const both = await fastify.inject({ method: 'PUT', url: '/v1/both', headers, payload: {} });

    expect(read.json()).toEqual({ request_id: 'req-abc' });
    expect(write.json()).toEqual({ request_id: 'req-abc' });
    expect(both.json()).toEqual({ request_id: 'req-abc' });
    await fastify.close();
  });

  it('runs an after-body hook on routes that may read a body only', async () => {
    const fastify = await buildServer();
    const seen: string[] = [];
    addAfterBodyHook(fastify, (request, _reply, next) => {
      seen.push(`${request.method} ${request.routeOptions.url}`);
      next();
    });
    fastify.get('/v1/read', () => 'ok');
    fastify.head('/v1/head', () => 'ok');
    fastify.post('/v1/write', () => 'ok');
    fastify.delete('/v1/remove', () => 'ok');
    fastify.route({ method: ['GET', 'PATCH'], url: '/v1/both', handler: () => 'ok' });

    for (const [method, url] of [
      ['GET', '/v1/read'],
      ['HEAD', '/v1/head'],
      ['POST', '/v1/write'],
      ['DELETE', '/v1/remove'],
      ['GET', '/v1/both'],
      ['PATCH', '/v1/both'],
    ] as const) {
      expect((await fastify.inject({ method, url })).statusCode).toBe(200);
    }
    // A route that has a body method gets the hook for all of its methods.
    expect(seen).toEqual(['POST /v1/write', 'DELETE /v1/remove', 'GET /v1/both', 'PATCH /v1/both']);
    await fastify.close();
  });

  it('tells every answered-request listener, in order, even when one throws', async () => {
    const fastify = await buildServer();
    const calls: string[] = [];
    fastify.onRequestAnswered((_request, reply) => calls.push(`first ${reply.statusCode}`));
    fastify.onRequestAnswered(() => {
      throw new Error('listener failed');
    });
    fastify.onRequestAnswered((request) => calls.push(`third ${request.routeOptions.url}`));
    fastify.get('/v1/read', () => 'ok');

    const response = await fastify.inject({ method: 'GET', url: '/v1/read' });

    expect(response.statusCode).toBe(200);
    expect(calls).toEqual(['first 200', 'third /v1/read']);
    await fastify.close();
  });
});
