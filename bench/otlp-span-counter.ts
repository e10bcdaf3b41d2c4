import { Server, ServerCredentials, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';

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

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

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
  const service: ServiceDefinition = {
    Export: {
      path: EXPORT_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: (value: Buffer) => value,
      requestDeserialize: (bytes: Buffer) => bytes,
      // An empty ExportTraceServiceResponse encodes to zero bytes.
      responseSerialize: () => Buffer.alloc(0),
      responseDeserialize: (bytes: Buffer) => bytes,
    },
  };
  const implementation: UntypedServiceImplementation = {
    Export: (
      call: { request: Buffer },
      callback: (error: { code: number; details: string } | null, value?: unknown) => void,
    ) => {
      try {
        spans += countSpans(call.request);
        exports += 1;
        callback(null, {});
      } catch (error) {
        callback({ code: GrpcStatus.INVALID_ARGUMENT, details: String(error) });
      }
    },
  };

  const server = new Server();
  server.addService(service, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    endpoint: `http://127.0.0.1:${port}`,
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
    stop: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
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
