import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  spanNamed,
  startInMemoryTracing,
  type InMemoryTracing,
} from '../../../test/helpers/in-memory-tracing';
import {
  bindTenantContext,
  bindUserContext,
  requestContextPlugin,
  sampledTraceId,
} from '../context';
import { httpServerTracingPlugin } from './http-server-tracing.plugin';
import { withSpan } from './with-span';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN_ID = '00f067aa0ba902b7';

async function buildServer(): Promise<FastifyInstance> {
  const fastify = Fastify();
  await fastify.register(requestContextPlugin);
  await fastify.register(httpServerTracingPlugin);
  fastify.get('/v1/agents/:id', async () => {
    bindTenantContext('tenant-a');
    bindUserContext('alice');
    await withSpan('lookup', {}, () => Promise.resolve());
    return { trace_id: sampledTraceId() ?? null };
  });
  fastify.post('/v1/echo', async (request) => {
    await Promise.resolve();
    return { trace_id: sampledTraceId() ?? null, body: request.body };
  });
  fastify.get('/v1/broken', () => {
    throw new Error('kaput');
  });
  fastify.get('/metrics', () => 'ok');
  fastify.get('/health/live', () => ({ status: 'ok' }));
  return fastify;
}

/** The real telemetry SDK with an in-memory exporter and a server traced by the plugin, for one describe block. */
function useTracedServer(overrides: Parameters<typeof startInMemoryTracing>[0] = {}): {
  readonly tracing: InMemoryTracing;
  readonly server: FastifyInstance;
} {
  const setup = {} as { tracing: InMemoryTracing; server: FastifyInstance };
  beforeAll(async () => {
    setup.tracing = startInMemoryTracing(overrides);
    setup.server = await buildServer();
    await setup.server.ready();
  });
  afterAll(async () => {
    await setup.server.close();
    await setup.tracing.stop();
  });
  beforeEach(() => setup.tracing.reset());
  return setup;
}

describe('httpServerTracingPlugin', () => {
  describe('with telemetry on, everything sampled', () => {
    const setup = useTracedServer();

    it('makes a SERVER span named by the route template, parent of the spans inside', async () => {
      const response = await setup.server.inject({
        method: 'GET',
        url: '/v1/agents/42?verbose=1',
        headers: { 'user-agent': 'jest' },
      });
      const spans = await setup.tracing.collectSpans();
      const serverSpan = spanNamed(spans, 'GET /v1/agents/:id');
      const inner = spanNamed(spans, 'lookup');

      expect(serverSpan.kind).toBe(SpanKind.SERVER);
      expect(serverSpan.attributes).toMatchObject({
        'http.request.method': 'GET',
        'http.route': '/v1/agents/:id',
        'url.path': '/v1/agents/42',
        'http.response.status_code': 200,
        'user_agent.original': 'jest',
        tenant_id: 'tenant-a',
        user_id: 'alice',
      });
      expect(inner.parentSpanContext?.spanId).toBe(serverSpan.spanContext().spanId);
      expect(response.json()).toEqual({ trace_id: serverSpan.spanContext().traceId });
      expect(response.headers.traceresponse).toBe(
        `00-${serverSpan.spanContext().traceId}-${serverSpan.spanContext().spanId}-01`,
      );
    });

    it('continues an incoming traceparent', async () => {
      const response = await setup.server.inject({
        method: 'GET',
        url: '/v1/agents/1',
        headers: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN_ID}-01` },
      });
      const serverSpan = spanNamed(await setup.tracing.collectSpans(), 'GET /v1/agents/:id');
      expect(serverSpan.spanContext().traceId).toBe(TRACE_ID);
      expect(serverSpan.parentSpanContext?.spanId).toBe(PARENT_SPAN_ID);
      expect(response.headers.traceresponse).toMatch(
        new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`),
      );
    });

    it('keeps the trace context across body parsing', async () => {
      const response = await setup.server.inject({
        method: 'POST',
        url: '/v1/echo',
        payload: { hello: 'world' },
      });
      const serverSpan = spanNamed(await setup.tracing.collectSpans(), 'POST /v1/echo');
      expect(response.json()).toEqual({
        trace_id: serverSpan.spanContext().traceId,
        body: { hello: 'world' },
      });
    });

    it.each([
      'garbage',
      `00-${'0'.repeat(32)}-${PARENT_SPAN_ID}-01`,
      `ff-${TRACE_ID}-${PARENT_SPAN_ID}-01`,
      `00-${TRACE_ID}-${PARENT_SPAN_ID}-01-${'x'.repeat(5000)}`,
    ])('starts a new trace for a hostile traceparent %#', async (traceparent) => {
      const response = await setup.server.inject({
        method: 'GET',
        url: '/v1/agents/1',
        headers: { traceparent },
      });
      expect(response.statusCode).toBe(200);
      const serverSpan = spanNamed(await setup.tracing.collectSpans(), 'GET /v1/agents/:id');
      expect(serverSpan.spanContext().traceId).not.toBe(TRACE_ID);
      expect(serverSpan.parentSpanContext).toBeUndefined();
    });

    it('marks a 5xx answer ERROR with error.type', async () => {
      const response = await setup.server.inject({ method: 'GET', url: '/v1/broken' });
      expect(response.statusCode).toBe(500);
      const serverSpan = spanNamed(await setup.tracing.collectSpans(), 'GET /v1/broken');
      expect(serverSpan.status.code).toBe(SpanStatusCode.ERROR);
      expect(serverSpan.attributes['error.type']).toBe('500');
    });

    it('names an unmatched request by its method alone', async () => {
      const response = await setup.server.inject({ method: 'GET', url: '/nowhere/123' });
      expect(response.statusCode).toBe(404);
      const serverSpan = spanNamed(await setup.tracing.collectSpans(), 'GET');
      expect(serverSpan.attributes['http.route']).toBeUndefined();
      expect(serverSpan.status.code).toBe(SpanStatusCode.UNSET);
    });

    it('never traces /metrics or /health/*', async () => {
      for (const url of ['/metrics', '/health/live', '/metrics?x=1']) {
        const response = await setup.server.inject({ method: 'GET', url });
        expect(response.statusCode).toBe(200);
        expect(response.headers.traceresponse).toBeUndefined();
      }
      expect(await setup.tracing.collectSpans()).toHaveLength(0);
    });
  });

  describe('with telemetry on and the caller not sampling', () => {
    const setup = useTracedServer({ TRACE_SAMPLE_RATIO: '1' });

    it('follows the caller: no span, no traceresponse, no trace id', async () => {
      const response = await setup.server.inject({
        method: 'GET',
        url: '/v1/agents/1',
        headers: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN_ID}-00` },
      });
      expect(response.json()).toEqual({ trace_id: null });
      expect(response.headers.traceresponse).toBeUndefined();
      expect(await setup.tracing.collectSpans()).toHaveLength(0);
    });
  });

  describe('at a ratio between 0 and 1, deciding before any span work', () => {
    const setup = useTracedServer({ TRACE_SAMPLE_RATIO: '0.5' });

    it('traces about the ratio of new requests, each one whole, and the rest not at all', async () => {
      const requests = 400;
      const traceIds: (string | null)[] = [];
      for (let i = 0; i < requests; i++) {
        const response = await setup.server.inject({ method: 'GET', url: `/v1/agents/${i}` });
        traceIds.push(response.json<{ trace_id: string | null }>().trace_id);
        expect(response.headers.traceresponse === undefined).toBe(traceIds[i] === null);
      }
      const spans = await setup.tracing.collectSpans();
      const sampled = traceIds.filter((id): id is string => id !== null);
      // Binomial(400, 0.5): the standard deviation is 10 requests, so this fails 1 in 10^15 runs.
      expect(sampled.length).toBeGreaterThan(120);
      expect(sampled.length).toBeLessThan(280);
      for (const traceId of sampled) {
        const trace = spans.filter((span) => span.spanContext().traceId === traceId);
        const server = trace.filter((span) => span.kind === SpanKind.SERVER);
        expect(server).toHaveLength(1);
        const inner = spanNamed(trace, 'lookup');
        expect(inner.parentSpanContext?.spanId).toBe(server[0].spanContext().spanId);
      }
      // Nothing else: a declined request leaves no span anywhere, not even an orphan 'lookup'.
      expect(spans).toHaveLength(sampled.length * 2);
    });

    it("still follows a caller's sampled traceparent, whatever the draw", async () => {
      for (let i = 0; i < 20; i++) {
        const response = await setup.server.inject({
          method: 'GET',
          url: '/v1/agents/1',
          headers: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN_ID}-01` },
        });
        expect(response.json()).toEqual({ trace_id: TRACE_ID });
      }
      const spans = await setup.tracing.collectSpans();
      expect(spans.filter((span) => span.kind === SpanKind.SERVER)).toHaveLength(20);
    });

    it('leaves spans outside any request to the ratio', async () => {
      for (let i = 0; i < 200; i++) await withSpan('background', {}, () => Promise.resolve());
      const count = (await setup.tracing.collectSpans()).length;
      // Binomial(200, 0.5) within 7 standard deviations: the admission of requests does not leak here.
      expect(count).toBeGreaterThan(50);
      expect(count).toBeLessThan(150);
    });
  });

  describe('with telemetry off', () => {
    it('opens no span and adds no trace context', async () => {
      const fastify = Fastify();
      await fastify.register(requestContextPlugin);
      await fastify.register(httpServerTracingPlugin);
      fastify.get('/v1/x', (request) => ({
        trace_id: sampledTraceId() ?? null,
        server_span: request.requestContext?.serverSpan !== undefined,
      }));
      const response = await fastify.inject({ method: 'GET', url: '/v1/x' });
      expect(response.headers.traceresponse).toBeUndefined();
      expect(response.json()).toEqual({ trace_id: null, server_span: false });
      await fastify.close();
    });
  });
});
