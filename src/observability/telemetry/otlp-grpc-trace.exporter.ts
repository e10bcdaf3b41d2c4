import { Client } from '@grpc/grpc-js';
import type { ChannelCredentials, ChannelOptions, Metadata, ServiceError } from '@grpc/grpc-js';
import {
  createOtlpNetworkExportDelegate,
  OTLPExporterBase,
} from '@opentelemetry/otlp-exporter-base';
import type { ExportResponse, IExporterTransport } from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyOtlpGrpcOptions,
  createOtlpGrpcExporterMetrics,
} from '@opentelemetry/otlp-grpc-exporter-base';
import type { OTLPGRPCExporterConfigNode } from '@opentelemetry/otlp-grpc-exporter-base';
import {
  ProtobufTraceSerializer,
  TraceExporterMetricsHelper,
} from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { APP_VERSION } from '../../common';

const USER_AGENT = `enterprise-agent-platform/${APP_VERSION}`;

/** The OTLP/gRPC trace service method (the collector's TraceService.Export). */
export const OTLP_TRACE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/**
 * Longest wait between attempts to reach a collector that went away. gRPC's
 * default grows to 120 s, so a collector back after a minute's outage could
 * wait two more minutes for its first span; 5 s costs one failed TCP connect
 * per 5 s while it is gone.
 */
export const MAX_RECONNECT_BACKOFF_MS = 5000;

/**
 * How long exports may keep failing before the connection is dropped and a
 * new one made. gRPC never times out a connection whose TCP handshake
 * succeeded but whose HTTP/2 handshake never completes (a hung collector, a
 * black-holing load balancer), and calls fail fast meanwhile, so without this
 * such a connection would be waited on forever.
 */
export const RECONNECT_AFTER_FAILING_MS = 20_000;

/**
 * Replaces the transport of @opentelemetry/exporter-trace-otlp-grpc: with it, export
 * resumed 13 s after a 40 s collector outage and never after a hung connection
 * (docs/performance.md). OTLP/gRPC span exporter: the stock exporter's configuration
 * (OTEL_EXPORTER_OTLP_* headers, TLS, compression, timeout) and serializer, on a transport whose
 * channel reconnects within MAX_RECONNECT_BACKOFF_MS of the collector coming
 * back. The stock transport cannot be given channel options, and because gRPC
 * shares connections across clients with the same options, recreating that
 * exporter inherits the same long backoff.
 */
export class OtlpGrpcTraceExporter extends OTLPExporterBase<ReadableSpan[]> {
  constructor(config: OTLPGRPCExporterConfigNode = {}) {
    // The stock exporter's own reading of its configuration and the OTEL_EXPORTER_OTLP_* variables.
    const options = convertLegacyOtlpGrpcOptions(config, 'TRACES');
    super(
      createOtlpNetworkExportDelegate(
        options,
        ProtobufTraceSerializer,
        createOtlpGrpcExporterMetrics(
          'otlp_grpc_span_exporter',
          TraceExporterMetricsHelper,
          options.url,
          undefined,
        ),
        new ReconnectingGrpcTransport({
          address: options.url,
          credentials: options.credentials,
          metadata: options.metadata,
          channelOptions: {
            'grpc.max_reconnect_backoff_ms': MAX_RECONNECT_BACKOFF_MS,
            // A private connection pool: a client made after a hang must really connect anew.
            'grpc.use_local_subchannel_pool': 1,
            'grpc.default_compression_algorithm': options.compression === 'gzip' ? 2 : 0,
            'grpc.primary_user_agent': [options.userAgent, USER_AGENT].filter(Boolean).join(' '),
          },
        }),
      ),
    );
  }
}

export interface GrpcTransportParameters {
  address: string;
  credentials: () => ChannelCredentials;
  metadata: () => Metadata;
  channelOptions: ChannelOptions;
}

/**
 * Sends serialized ExportTraceServiceRequests as unary gRPC calls. The client
 * is made on first use, and made again once exports have failed for
 * RECONNECT_AFTER_FAILING_MS without a success in between.
 */
export class ReconnectingGrpcTransport implements IExporterTransport {
  private client: Client | undefined;
  private metadata: Metadata | undefined;
  private failingSince: number | undefined;

  constructor(
    private readonly parameters: GrpcTransportParameters,
    private readonly now: () => number = Date.now,
  ) {}

  send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    let client: Client;
    let metadata: Metadata;
    try {
      client = this.client ??= new Client(
        this.parameters.address,
        this.parameters.credentials(),
        this.parameters.channelOptions,
      );
      metadata = this.metadata ??= this.parameters.metadata();
    } catch (error) {
      return Promise.resolve({ status: 'failure', error: toError(error) });
    }
    const request = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        OTLP_TRACE_EXPORT_PATH,
        (bytes: Buffer) => bytes,
        (bytes: Buffer) => bytes,
        request,
        metadata,
        { deadline: Date.now() + timeoutMillis },
        (error: ServiceError | null, response?: Buffer) => {
          if (error) {
            this.onFailure(client);
            resolve({ status: 'failure', error });
            return;
          }
          this.failingSince = undefined;
          resolve({ status: 'success', data: response });
        },
      );
    });
  }

  shutdown(): void {
    this.client?.close();
    this.client = undefined;
  }

  private onFailure(client: Client): void {
    if (client !== this.client) return;
    const now = this.now();
    this.failingSince ??= now;
    if (now - this.failingSince < RECONNECT_AFTER_FAILING_MS) return;
    this.failingSince = now;
    this.client = undefined;
    client.close();
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
