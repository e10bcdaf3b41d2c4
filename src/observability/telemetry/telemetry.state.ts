import { trace, type Tracer } from '@opentelemetry/api';
import { TRACER_NAME } from './gen-ai.attributes';

/**
 * What the decorators, withSpan and the HTTP hooks need to know at call
 * time. A plain module-level object, read on every call: with telemetry off
 * the check is one property read and the wrapped code runs untouched.
 */
interface TelemetryState {
  active: boolean;
  captureMessageContent: boolean;
  tracer: Tracer | undefined;
  sampleRatio: number;
}

const state: TelemetryState = {
  active: false,
  captureMessageContent: false,
  tracer: undefined,
  sampleRatio: 0,
};

export function activateTracing(options: {
  captureMessageContent: boolean;
  sampleRatio: number;
}): void {
  state.active = true;
  state.captureMessageContent = options.captureMessageContent;
  state.sampleRatio = options.sampleRatio;
  state.tracer = trace.getTracer(TRACER_NAME);
}

export function deactivateTracing(): void {
  state.active = false;
  state.captureMessageContent = false;
  state.tracer = undefined;
  state.sampleRatio = 0;
}

/** The tracer when telemetry is on, else undefined (callers take the no-op path). */
export function activeTracer(): Tracer | undefined {
  return state.active ? state.tracer : undefined;
}

export function isTracingActive(): boolean {
  return state.active;
}

export function captureMessageContent(): boolean {
  return state.captureMessageContent;
}

/** The root sampling ratio of new traces (TRACE_SAMPLE_RATIO) while telemetry is on. */
export function rootSampleRatio(): number {
  return state.sampleRatio;
}
