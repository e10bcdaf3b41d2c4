import { SpanStatusCode } from '@opentelemetry/api';
import {
  spanNamed,
  startInMemoryTracing,
  type InMemoryTracing,
} from '../../../test/helpers/in-memory-tracing';
import {
  newRequestContext,
  runWithRequestContext,
  sampledSpanContext,
  sampledTraceId,
} from '../context';
import { withSpan } from './with-span';

describe(withSpan.name, () => {
  describe('with telemetry off', () => {
    it('runs the function with no span', async () => {
      const seen: unknown[] = [];
      await expect(
        withSpan('custom', {}, (span) => {
          seen.push(span);
          return Promise.resolve(42);
        }),
      ).resolves.toBe(42);
      expect(seen).toEqual([undefined]);
      expect(sampledTraceId()).toBeUndefined();
    });
  });

  describe('with telemetry on', () => {
    let tracing: InMemoryTracing;
    beforeAll(() => {
      tracing = startInMemoryTracing();
    });
    afterAll(() => tracing.stop());
    beforeEach(() => tracing.reset());

    it('exports a span with the attributes, active while the function runs', async () => {
      let inside: string | undefined;
      await withSpan('kb.reindex', { 'kb.documents': 3 }, async (span) => {
        inside = sampledTraceId();
        span?.setAttribute('kb.done', true);
        await Promise.resolve();
      });
      const span = spanNamed(await tracing.collectSpans(), 'kb.reindex');
      expect(span.attributes).toEqual({ 'kb.documents': 3, 'kb.done': true });
      expect(inside).toBe(span.spanContext().traceId);
      expect(sampledSpanContext()).toBeUndefined();
    });

    it('makes no span inside a request its server span did not trace: no orphan root', async () => {
      const seen: unknown[] = [];
      await runWithRequestContext(newRequestContext('req_1'), () =>
        withSpan('custom', {}, (span) => {
          seen.push(span);
          return Promise.resolve();
        }),
      );
      expect(seen).toEqual([undefined]);
      expect(await tracing.collectSpans()).toHaveLength(0);
    });

    it('marks the span ERROR with error.type and rethrows', async () => {
      const failure = new RangeError('too many');
      await expect(withSpan('kb.reindex', {}, () => Promise.reject(failure))).rejects.toBe(failure);
      const span = spanNamed(await tracing.collectSpans(), 'kb.reindex');
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.attributes['error.type']).toBe('RangeError');
    });
  });

  describe('with telemetry on and nothing sampled', () => {
    let tracing: InMemoryTracing;
    beforeAll(() => {
      tracing = startInMemoryTracing({ TRACE_SAMPLE_RATIO: '0' });
    });
    afterAll(() => tracing.stop());

    it('gives no trace id to link to: an unsampled trace links to nothing', async () => {
      let inside: string | undefined = 'unset';
      await withSpan('custom', {}, () => {
        inside = sampledTraceId();
        return Promise.resolve();
      });
      expect(inside).toBeUndefined();
      expect(await tracing.collectSpans()).toHaveLength(0);
    });
  });
});
