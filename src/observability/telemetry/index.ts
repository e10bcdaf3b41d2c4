export { TelemetryModule } from './telemetry.module';
export { errorTypeOf, observedSpan, recordSpanError, withSpan } from './with-span';
export type { SpanPlan } from './with-span';
export {
  CLIENT_CLOSED,
  HTTP_SERVER_TRACING_PLUGIN,
  httpServerTracingPlugin,
} from './http-server-tracing.plugin';
export {
  droppedSpanCount,
  shutdownTelemetry,
  startTelemetry,
  TELEMETRY_SHUTDOWN_TIMEOUT_MS,
} from './telemetry.sdk';
export { captureMessageContent, isTracingActive } from './telemetry.state';
export { toInputMessages, toOutputMessages } from './gen-ai.messages';
export * from './gen-ai.attributes';
