import * as protobuf from 'protobufjs';
import { startOtlpTraceServer } from '../tools/otlp/otlp-trace-server';

/**
 * Just enough of OTLP's ExportTraceServiceRequest to count spans (field
 * numbers from opentelemetry-proto trace/v1/trace.proto). Span is left empty
 * on purpose: the decoder skips its fields, which keeps the receiver's CPU
 * cost small; it shares the cores with autocannon in the bench process.
 */
const OTLP_SPAN_COUNT_SUBSET = `
syntax = "proto3";
package otlp;
message Span {}
message ScopeSpans { repeated Span spans = 2; }
message ResourceSpans { repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
`;

interface DecodedRequest {
  resource_spans?: { scope_spans?: { spans?: unknown[] }[] }[];
}

export interface OtlpSpanCounter {
  /** http://127.0.0.1:PORT, for OTLP_ENDPOINT. */
  readonly endpoint: string;
  /** Spans received since the last reset. */
  readonly spans: number;
  /** Export requests received since the last reset. */
  readonly exports: number;
  reset(): void;
  stop(): Promise<void>;
}

const requestType = protobuf
  .parse(OTLP_SPAN_COUNT_SUBSET, { keepCase: true })
  .root.lookupType('otlp.ExportTraceServiceRequest');

/** A real OTLP/gRPC trace endpoint that accepts every export and counts the spans in it. */
export async function startOtlpSpanCounter(): Promise<OtlpSpanCounter> {
  let spans = 0;
  let exports = 0;
  const server = await startOtlpTraceServer((request) => {
    spans += countSpans(request);
    exports += 1;
  });
  return {
    endpoint: server.endpoint,
    get spans() {
      return spans;
    },
    get exports() {
      return exports;
    },
    reset: () => {
      spans = 0;
      exports = 0;
    },
    stop: () => server.stop(),
  };
}

function countSpans(bytes: Buffer): number {
  const message = requestType.decode(bytes) as unknown as DecodedRequest;
  let count = 0;
  for (const resourceSpans of message.resource_spans ?? []) {
    for (const scopeSpans of resourceSpans.scope_spans ?? [])
      count += scopeSpans.spans?.length ?? 0;
  }
  return count;
}
