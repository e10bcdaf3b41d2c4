import type { Env } from '../src/config';

/** The modes the benchmark compares, in the order they are reported. */
export const MODE_NAMES = [
  'plain',
  'bare',
  'metrics',
  'metrics-logs',
  'full-10',
  'full-100',
  'collector-down',
] as const;

export type ModeName = (typeof MODE_NAMES)[number];

/** The references every run measures, whatever subset of modes is asked for. */
export const REFERENCE_MODES: readonly ModeName[] = ['plain', 'bare'];

export const ENDPOINTS = ['info', 'runs'] as const;

export type EndpointKey = (typeof ENDPOINTS)[number];

/** The platform's built app, or the plain NestJS reference app (bench/plain-app.ts). */
export type AppKind = 'platform' | 'plain';

export interface ModeEndpoints {
  /** The local OTLP receiver (http://127.0.0.1:PORT). */
  readonly otlpReceiver: string;
  /** An OTLP endpoint nobody listens on. */
  readonly otlpUnreachable: string;
  /** The body bare answered on /v1/info: the plain app answers the same bytes. */
  readonly infoBody?: string;
}

export interface BenchMode {
  readonly name: ModeName;
  readonly description: string;
  readonly app: AppKind;
  /** The endpoints it is measured on (the plain app has no runs). */
  readonly endpoints: readonly EndpointKey[];
  /** Environment on top of the common one (database, Redis, LLM proxy, port). */
  readonly env: Env;
  /** Whether the app exports spans to the local receiver. */
  readonly exportsSpans: boolean;
}

const METRICS_OFF: Env = { METRICS_ENABLED: 'false' };
const LOGS_OFF: Env = { LOG_LEVEL: 'silent' };
const JSON_ACCESS_LOG: Env = { LOG_FORMAT: 'json', LOG_LEVEL: 'info' };
const TELEMETRY_OFF: Env = { ENABLE_TELEMETRY: 'false' };

/** Each mode's environment; everything not set here is the production default. */
export function benchMode(name: ModeName, endpoints: ModeEndpoints): BenchMode {
  if (name === 'plain') {
    if (endpoints.infoBody === undefined) throw new Error('the plain mode needs the /v1/info body');
    return {
      name,
      description: 'plain NestJS + Fastify, no platform code, same /v1/info body (reference)',
      app: 'plain',
      endpoints: ['info'],
      env: { BENCH_INFO_BODY: endpoints.infoBody },
      exportsSpans: false,
    };
  }
  return { ...platformMode(name, endpoints), app: 'platform', endpoints: ENDPOINTS };
}

function platformMode(
  name: Exclude<ModeName, 'plain'>,
  endpoints: ModeEndpoints,
): Omit<BenchMode, 'app' | 'endpoints'> {
  switch (name) {
    case 'bare':
      return {
        name,
        description: 'metrics off, logs off, telemetry off',
        env: { ...METRICS_OFF, ...LOGS_OFF, ...TELEMETRY_OFF },
        exportsSpans: false,
      };
    case 'metrics':
      return {
        name,
        description: 'metrics only',
        env: { ...LOGS_OFF, ...TELEMETRY_OFF },
        exportsSpans: false,
      };
    case 'metrics-logs':
      return {
        name,
        description: 'metrics + JSON access log (info, to a file)',
        env: { ...JSON_ACCESS_LOG, ...TELEMETRY_OFF },
        exportsSpans: false,
      };
    case 'full-10':
      return {
        name,
        description: 'metrics + logs + traces, 10% sampling, OTLP to local receiver',
        env: { ...JSON_ACCESS_LOG, ...telemetry(endpoints.otlpReceiver, '0.1') },
        exportsSpans: true,
      };
    case 'full-100':
      return {
        name,
        description: 'metrics + logs + traces, 100% sampling, OTLP to local receiver',
        env: { ...JSON_ACCESS_LOG, ...telemetry(endpoints.otlpReceiver, '1') },
        exportsSpans: true,
      };
    case 'collector-down':
      return {
        name,
        description: 'as full-10, OTLP endpoint refuses connections',
        env: { ...JSON_ACCESS_LOG, ...telemetry(endpoints.otlpUnreachable, '0.1') },
        exportsSpans: false,
      };
  }
}

function telemetry(endpoint: string, ratio: string): Env {
  return { ENABLE_TELEMETRY: 'true', TRACE_SAMPLE_RATIO: ratio, OTLP_ENDPOINT: endpoint };
}
