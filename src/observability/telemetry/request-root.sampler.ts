import { createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace';
import type { Sampler, SamplingResult } from '@opentelemetry/sdk-trace';

const ADMITTED = createContextKey('eap.request-trace-admitted');

/**
 * The context a request's new trace starts from once the request was admitted
 * by `admitsNewRequestTrace`: the root sampler samples it without asking the
 * ratio a second time.
 */
export const ADMITTED_ROOT_CONTEXT: Context = ROOT_CONTEXT.setValue(ADMITTED, true);

/**
 * Root sampling at the trace-id ratio, except for requests the HTTP hooks
 * already admitted. The hooks decide before making any span object (ids,
 * name, attributes) because at the usual ratios most requests are declined,
 * and for them that work is all waste. Roots outside requests (start-up,
 * background checks) are sampled by the ratio as before.
 */
export class RequestRootSampler implements Sampler {
  private readonly ratio: TraceIdRatioBasedSampler;

  constructor(private readonly probability: number) {
    this.ratio = new TraceIdRatioBasedSampler(probability);
  }

  shouldSample(context: Context, traceId: string): SamplingResult {
    if (context.getValue(ADMITTED) === true)
      return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    return this.ratio.shouldSample(context, traceId);
  }

  toString(): string {
    return `RequestRootSampler{${this.probability}}`;
  }
}

/** Whether a request without a caller's traceparent starts a sampled trace: the ratio, drawn once. */
export function admitsNewRequestTrace(probability: number): boolean {
  return probability >= 1 || (probability > 0 && Math.random() < probability);
}
