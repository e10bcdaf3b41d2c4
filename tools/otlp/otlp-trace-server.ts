import { Server, ServerCredentials, status as GrpcStatus } from '@grpc/grpc-js';
import type { Metadata, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { OTLP_TRACE_EXPORT_PATH } from '../../src/observability/telemetry/otlp-grpc-trace.exporter';

export interface OtlpTraceServer {
  /** http://127.0.0.1:PORT, for OTLP_ENDPOINT. */
  readonly endpoint: string;
  /** Stops accepting; forces the shutdown after 2 s of calls still open. */
  stop(): Promise<void>;
}

/**
 * A real OTLP/gRPC trace endpoint on a free port of 127.0.0.1: the app exports
 * to it exactly as it would to an OpenTelemetry Collector. Each export's raw
 * ExportTraceServiceRequest bytes (and the call's metadata) go to `onExport`; a throw answers
 * INVALID_ARGUMENT. The test receiver decodes spans, the benchmark counts them.
 */
export async function startOtlpTraceServer(
  onExport: (request: Buffer, metadata: Metadata) => void,
): Promise<OtlpTraceServer> {
  const service: ServiceDefinition = {
    Export: {
      path: OTLP_TRACE_EXPORT_PATH,
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
      call: { request: Buffer; metadata: Metadata },
      callback: (error: { code: number; details: string } | null, value?: unknown) => void,
    ) => {
      try {
        onExport(call.request, call.metadata);
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
