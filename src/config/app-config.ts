/**
 * The one typed configuration object. Built from the environment by
 * `loadConfig` (the only reader of process.env) and provided through DI by
 * ConfigModule; tests build it with overrides.
 */
export interface AppConfig {
  readonly env: 'development' | 'production' | 'test';
  readonly http: {
    readonly port: number;
    readonly host: string;
    readonly bodyLimitBytes: number;
    /** HTTP_HEADERS_TIMEOUT_MS: a client must send the whole request head within it. */
    readonly headersTimeoutMs: number;
    /** HTTP_REQUEST_TIMEOUT_MS: ... and the whole request (head and body); the answer is not bounded by it. */
    readonly requestTimeoutMs: number;
    /** HTTP_KEEP_ALIVE_TIMEOUT_MS: an idle keep-alive connection is closed after it. */
    readonly keepAliveTimeoutMs: number;
  };
  readonly managementPort: number | undefined;
  readonly log: { readonly format: 'json' | 'pretty'; readonly level: LogLevel };
  readonly database: { readonly url: string | undefined; readonly dataDir: string };
  readonly redis: { readonly url: string | undefined; readonly keyPrefix: string };
  readonly llm: {
    readonly proxyUrl: string | undefined;
    readonly apiKey: string | undefined;
    readonly healthPath: string;
    readonly timeoutMs: number;
    readonly maxRetries: number;
    readonly pricesFile: string | undefined;
  };
  readonly telemetry: {
    readonly enabled: boolean;
    readonly otlpEndpoint: string;
    readonly sampleRatio: number;
    readonly serviceName: string;
    readonly captureMessageContent: boolean;
    /** The batch span processor's bounds (the standard OTEL_BSP_* variables). */
    readonly batch: {
      readonly maxQueueSize: number;
      readonly maxExportBatchSize: number;
      readonly scheduledDelayMs: number;
      readonly exportTimeoutMs: number;
    };
  };
  readonly metrics: {
    readonly enabled: boolean;
    readonly token: string | undefined;
    readonly maxTenants: number;
    /** Models whose `model` label is always kept, beside the priced ones (METRICS_KNOWN_MODELS). */
    readonly knownModels: readonly string[];
  };
  readonly health: {
    readonly checkTimeoutMs: number;
    readonly diskPath: string;
    readonly diskThreshold: number;
  };
  readonly runs: {
    /** RUN_TIMEOUT_MS: a run still going after it stops (`error` / `run_timeout`); also the shutdown's close bound. */
    readonly timeoutMs: number;
    /** How long past timeoutMs a row still `running` is taken for a run cut off (crash, kill, lost write). */
    readonly sweepMarginMs: number;
    /** How often the sweeper looks for such rows. */
    readonly sweepIntervalMs: number;
  };
  readonly shutdownDrainMs: number;
  readonly adminApiKey: string | undefined;
  /** Limits one tenant meets on a platform shared with others. */
  readonly limits: {
    /** Runs in flight per tenant across every replica (TENANT_MAX_CONCURRENT_RUNS). */
    readonly tenantMaxConcurrentRuns: number;
  };
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** DI token for AppConfig (an interface has no runtime identity). */
export const APP_CONFIG = Symbol('APP_CONFIG');
