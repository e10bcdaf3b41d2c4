export { TelemetryModule } from './telemetry.module';
export { TraceAgent, TraceLlmCall, TraceTool } from './trace.decorators';
export { currentTraceContext, currentTraceId, withSpan } from './with-span';
export {
  registerHttpServerTracing,
  sampledServerSpanContext,
  sampledTraceIdOf,
} from './http-server-tracing.hooks';
export {
  droppedSpanCount,
  shutdownTelemetry,
  startTelemetry,
  TELEMETRY_SHUTDOWN_TIMEOUT_MS,
} from './telemetry.sdk';
export * from './gen-ai.attributes';
