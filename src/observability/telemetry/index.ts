export { TelemetryModule } from './telemetry.module';
export { TraceAgent, TraceLlmCall, TraceTool } from './trace.decorators';
export { currentTraceId, withSpan } from './with-span';
