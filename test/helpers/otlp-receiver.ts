import * as protobuf from 'protobufjs';
import { startOtlpTraceServer } from '../../tools/otlp/otlp-trace-server';

/**
 * The messages of OTLP's ExportTraceServiceRequest that the tests read, with
 * their field numbers from opentelemetry-proto (trace/v1/trace.proto,
 * common/v1/common.proto, resource/v1/resource.proto). The transformer
 * package only serialises, so the receiver decodes with protobufjs; fields
 * not listed here (links, dropped counts) are skipped by the decoder.
 */
const OTLP_TRACE_SUBSET = `
syntax = "proto3";
package otlp;
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message InstrumentationScope { string name = 1; string version = 2; }
message Status { string message = 2; int32 code = 3; }
message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  repeated Event events = 11;
  Status status = 15;
  fixed32 flags = 16;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
`;

/** OTLP span kinds (SPAN_KIND_*); note they are the API's SpanKind + 1. */
export const OTLP_SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
/** OTLP status codes (STATUS_CODE_*). */
export const OTLP_STATUS = { unset: 0, ok: 1, error: 2 };

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** undefined for a root span */
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  status: { code: number; message: string };
  events: { name: string; attributes: Record<string, unknown> }[];
  resource: Record<string, unknown>;
  scope: string;
}

export interface OtlpReceiver {
  /** http://127.0.0.1:PORT, for OTLP_ENDPOINT */
  readonly endpoint: string;
  /** Every span received so far, in arrival order. */
  readonly spans: readonly ReceivedSpan[];
  /** Export requests received so far. */
  readonly requestCount: number;
  /** Resolves with the spans once `done(spans)` is true; rejects after timeoutMs with what arrived. */
  waitForSpans(
    done: (spans: readonly ReceivedSpan[]) => boolean,
    timeoutMs?: number,
  ): Promise<readonly ReceivedSpan[]>;
  /** Spans of one trace. */
  trace(traceId: string): ReceivedSpan[];
  /** Forgets the spans and requests received so far. */
  clear(): void;
  stop(): Promise<void>;
}

interface DecodedRequest {
  resource_spans?: {
    resource?: { attributes?: DecodedKeyValue[] };
    scope_spans?: {
      scope?: { name?: string };
      spans?: {
        trace_id: Buffer;
        span_id: Buffer;
        parent_span_id?: Buffer;
        name: string;
        kind?: number;
        attributes?: DecodedKeyValue[];
        events?: { name: string; attributes?: DecodedKeyValue[] }[];
        status?: { code?: number; message?: string };
      }[];
    }[];
  }[];
}

interface DecodedKeyValue {
  key: string;
  value?: DecodedAnyValue;
}

interface DecodedAnyValue {
  string_value?: string;
  bool_value?: boolean;
  int_value?: number | string;
  double_value?: number;
  array_value?: { values?: DecodedAnyValue[] };
  kvlist_value?: { values?: DecodedKeyValue[] };
  bytes_value?: Buffer;
}

const requestType = protobuf
  .parse(OTLP_TRACE_SUBSET, { keepCase: true })
  .root.lookupType('otlp.ExportTraceServiceRequest');

/**
 * A real OTLP/gRPC trace receiver for the test suite: the app exports to it
 * exactly as it would to an OpenTelemetry Collector.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  let requestCount = 0;
  const waiters = new Set<() => void>();

  const server = await startOtlpTraceServer((request) => {
    spans.push(...decodeRequest(request));
    requestCount += 1;
    for (const wake of waiters) wake();
  });

  return {
    endpoint: server.endpoint,
    spans,
    get requestCount() {
      return requestCount;
    },
    waitForSpans: (done, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (!done(spans)) return;
          cleanup();
          resolve(spans);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `spans did not arrive within ${timeoutMs} ms; received: [${spans.map((s) => s.name).join(', ')}]`,
            ),
          );
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
    trace: (traceId) => spans.filter((span) => span.traceId === traceId),
    clear: () => {
      spans.length = 0;
      requestCount = 0;
    },
    stop: () => server.stop(),
  };
}

function decodeRequest(bytes: Buffer): ReceivedSpan[] {
  const message = requestType.toObject(requestType.decode(bytes), {
    longs: Number,
    defaults: false,
  }) as DecodedRequest;
  const received: ReceivedSpan[] = [];
  for (const resourceSpans of message.resource_spans ?? []) {
    const resource = toRecord(resourceSpans.resource?.attributes);
    for (const scopeSpans of resourceSpans.scope_spans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        const parent = span.parent_span_id?.length
          ? span.parent_span_id.toString('hex')
          : undefined;
        received.push({
          traceId: span.trace_id.toString('hex'),
          spanId: span.span_id.toString('hex'),
          parentSpanId: parent,
          name: span.name,
          kind: span.kind ?? 0,
          attributes: toRecord(span.attributes),
          status: { code: span.status?.code ?? 0, message: span.status?.message ?? '' },
          events: (span.events ?? []).map((event) => ({
            name: event.name,
            attributes: toRecord(event.attributes),
          })),
          resource,
          scope: scopeSpans.scope?.name ?? '',
        });
      }
    }
  }
  return received;
}

function toRecord(attributes: DecodedKeyValue[] | undefined): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const { key, value } of attributes ?? []) record[key] = toValue(value);
  return record;
}

function toValue(value: DecodedAnyValue | undefined): unknown {
  if (!value) return undefined;
  if (value.string_value !== undefined) return value.string_value;
  if (value.bool_value !== undefined) return value.bool_value;
  if (value.int_value !== undefined) return Number(value.int_value);
  if (value.double_value !== undefined) return value.double_value;
  if (value.array_value) return (value.array_value.values ?? []).map(toValue);
  if (value.kvlist_value) return toRecord(value.kvlist_value.values);
  if (value.bytes_value) return value.bytes_value;
  return undefined;
}
