import { credentials, Metadata } from '@grpc/grpc-js';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { startOtlpReceiver, type OtlpReceiver } from '../../../test/helpers/otlp-receiver';
import { startOtlpTraceServer } from '../../../tools/otlp/otlp-trace-server';
import { startTcpProxy, type TcpProxy } from '../../../test/helpers/tcp-proxy';
import {
  OtlpGrpcTraceExporter,
  RECONNECT_AFTER_FAILING_MS,
  ReconnectingGrpcTransport,
} from './otlp-grpc-trace.exporter';

/** An ExportTraceServiceRequest with no spans encodes to zero bytes. */
const EMPTY_REQUEST = new Uint8Array(0);
const SHORT_TIMEOUT_MS = 300;
const TIMEOUT_MS = 5000;

describe(OtlpGrpcTraceExporter.name, () => {
  let receiver: OtlpReceiver;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(() => receiver.stop());

  it('exports spans as OTLP/gRPC that a collector decodes', async () => {
    const exporter = new OtlpGrpcTraceExporter({ url: receiver.endpoint });
    try {
      const spans = finishedSpans('db.query', 'llm.call');
      await expect(exportOnce(exporter, spans)).resolves.toEqual({
        code: ExportResultCode.SUCCESS,
      });
      const received = await receiver.waitForSpans((all) => all.length === 2);
      expect(received.map((span) => span.name)).toEqual(['db.query', 'llm.call']);
      expect(received[0].traceId).toBe(spans[0].spanContext().traceId);
    } finally {
      await exporter.shutdown();
    }
  });

  it('sends the OTEL_EXPORTER_OTLP_HEADERS as gRPC metadata (collector auth)', async () => {
    const seen: Metadata[] = [];
    const collector = await startOtlpTraceServer((_request, metadata) => seen.push(metadata));
    process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-collector-token=abc123';
    const exporter = new OtlpGrpcTraceExporter({ url: collector.endpoint });
    delete process.env.OTEL_EXPORTER_OTLP_HEADERS;
    try {
      await expect(exportOnce(exporter, finishedSpans('auth'))).resolves.toEqual({
        code: ExportResultCode.SUCCESS,
      });
      expect(seen[0].get('x-collector-token')).toEqual(['abc123']);
      expect(String(seen[0].get('user-agent')[0])).toContain('enterprise-agent-platform/');
    } finally {
      await exporter.shutdown();
      await collector.stop();
    }
  });

  it('fails the export, without throwing, when nobody listens', async () => {
    const proxy = await startTcpProxy(Number(new URL(receiver.endpoint).port));
    await proxy.setMode('refuse');
    const exporter = new OtlpGrpcTraceExporter({ url: `http://127.0.0.1:${proxy.port}` });
    try {
      const result = await exportOnce(exporter, finishedSpans('lost'));
      expect(result.code).toBe(ExportResultCode.FAILED);
      expect(result.error?.message).toMatch(/UNAVAILABLE/);
    } finally {
      await exporter.shutdown();
      await proxy.close();
    }
  });
});

describe(ReconnectingGrpcTransport.name, () => {
  let receiver: OtlpReceiver;
  let proxy: TcpProxy;
  let clock: number;
  let transport: ReconnectingGrpcTransport;

  /** A transport to 127.0.0.1:port that reads the test's clock. */
  const transportTo = (port: number): ReconnectingGrpcTransport =>
    new ReconnectingGrpcTransport(
      {
        address: `127.0.0.1:${port}`,
        credentials: () => credentials.createInsecure(),
        metadata: () => new Metadata(),
        channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
      },
      () => clock,
    );

  const send = async (timeoutMs = TIMEOUT_MS): Promise<string> =>
    (await transport.send(EMPTY_REQUEST, timeoutMs)).status;

  beforeEach(async () => {
    receiver = await startOtlpReceiver();
    proxy = await startTcpProxy(Number(new URL(receiver.endpoint).port));
    clock = 0;
    transport = transportTo(proxy.port);
  });

  afterEach(async () => {
    transport.shutdown();
    await proxy.close();
    await receiver.stop();
  });

  it('drops a connection that hangs before answering once exports have failed long enough', async () => {
    // The collector accepts the connection and never answers: gRPC would wait on it forever.
    await proxy.setMode('blackhole');
    expect(await send(SHORT_TIMEOUT_MS)).toBe('failure');
    // The collector is healthy again, but the hung connection still swallows what is sent on it.
    await proxy.setMode('forward');
    clock += RECONNECT_AFTER_FAILING_MS - 1;
    expect(await send(SHORT_TIMEOUT_MS)).toBe('failure');
    expect(proxy.connectionCount).toBe(1);

    clock += 1;
    // Failing for RECONNECT_AFTER_FAILING_MS: this failure drops the connection...
    expect(await send(SHORT_TIMEOUT_MS)).toBe('failure');
    // ...and the next export goes over a new one.
    expect(await send()).toBe('success');
    expect(proxy.connectionCount).toBe(2);
    expect(receiver.requestCount).toBe(1);
  });

  it('counts only failures since the last success', async () => {
    // A collector that answers with errors, on a connection that stays healthy.
    let rejecting = false;
    const collector = await startOtlpTraceServer(() => {
      if (rejecting) throw new Error('rejected');
    });
    const collectorProxy = await startTcpProxy(Number(new URL(collector.endpoint).port));
    const toCollector = transportTo(collectorProxy.port);
    const sendToCollector = async (): Promise<string> =>
      (await toCollector.send(EMPTY_REQUEST, TIMEOUT_MS)).status;
    try {
      expect(await sendToCollector()).toBe('success');
      rejecting = true;
      expect(await sendToCollector()).toBe('failure');
      clock += RECONNECT_AFTER_FAILING_MS / 2;
      expect(await sendToCollector()).toBe('failure');
      rejecting = false;
      expect(await sendToCollector()).toBe('success');

      rejecting = true;
      clock += RECONNECT_AFTER_FAILING_MS;
      // A new streak of failures: long after the previous failure, but no reason to reconnect yet.
      expect(await sendToCollector()).toBe('failure');
      expect(collectorProxy.connectionCount).toBe(1);

      clock += RECONNECT_AFTER_FAILING_MS;
      expect(await sendToCollector()).toBe('failure');
      rejecting = false;
      expect(await sendToCollector()).toBe('success');
      expect(collectorProxy.connectionCount).toBe(2);
    } finally {
      toCollector.shutdown();
      await collectorProxy.close();
      await collector.stop();
    }
  });
});

function finishedSpans(...names: string[]): ReadableSpan[] {
  const finished: ReadableSpan[] = [];
  const provider = new TracerProvider({
    spanProcessors: [
      {
        onStart: () => undefined,
        onEnd: (span) => finished.push(span),
        forceFlush: () => Promise.resolve(),
        shutdown: () => Promise.resolve(),
      },
    ],
  });
  const tracer = provider.getTracer('test');
  for (const name of names) tracer.startSpan(name).end();
  return finished;
}

function exportOnce(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}
