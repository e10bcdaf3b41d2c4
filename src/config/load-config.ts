import { tmpdir } from 'node:os';
import { AppConfig, LOG_LEVELS, LogLevel } from './app-config';

export type Env = Record<string, string | undefined>;

/** Raised for the first invalid variable; its message is the one line printed at start-up. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    expected: string,
    value: string,
  ) {
    super(
      `Invalid configuration: ${variable}=${JSON.stringify(truncate(value))} (expected ${expected})`,
    );
    this.name = 'ConfigError';
  }
}

function truncate(value: string): string {
  return value.length > 60 ? `${value.slice(0, 60)}...` : value;
}

/** Reads one variable at a time so that every error names exactly one variable. */
class EnvReader {
  constructor(private readonly env: Env) {}

  private raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  optionalString(name: string): string | undefined {
    return this.raw(name);
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = /^-?\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      throw new ConfigError(name, `an integer from ${min} to ${max}`, value);
    }
    return parsed;
  }

  optionalInt(name: string, min: number, max: number): number | undefined {
    return this.raw(name) === undefined ? undefined : this.int(name, 0, min, max);
  }

  ratio(name: string, fallback: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = /^\d*\.?\d+$/.test(value) ? Number(value) : NaN;
    if (!(parsed >= 0 && parsed <= 1)) throw new ConfigError(name, 'a number from 0 to 1', value);
    return parsed;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const lower = value.toLowerCase();
    if (['true', '1', 'yes'].includes(lower)) return true;
    if (['false', '0', 'no'].includes(lower)) return false;
    throw new ConfigError(name, 'true or false', value);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const match = allowed.find((candidate) => candidate === value.toLowerCase());
    if (match === undefined) throw new ConfigError(name, `one of ${allowed.join(', ')}`, value);
    return match;
  }

  url(name: string, protocols: readonly string[]): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new ConfigError(name, `a URL (${protocols.join(', ')})`, redactUrl(value));
    }
    if (!protocols.includes(parsed.protocol.replace(/:$/, ''))) {
      throw new ConfigError(name, `a URL (${protocols.join(', ')})`, redactUrl(value));
    }
    return value.replace(/\/+$/, '');
  }

  /** Comma-separated names, each matching `item`; at most maxItems. */
  list(name: string, item: RegExp, maxItems: number): string[] {
    const value = this.raw(name);
    if (value === undefined) return [];
    const items = value
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '');
    if (items.length > maxItems || items.some((part) => !item.test(part))) {
      throw new ConfigError(name, `a comma-separated list of at most ${maxItems} names`, value);
    }
    return items;
  }

  path(name: string, fallback: string): string {
    const value = this.raw(name) ?? fallback;
    if (value.includes('\0')) throw new ConfigError(name, 'a file system path', value);
    return value;
  }
}

/** Credentials in a URL never reach a log line, even in an error. */
function redactUrl(value: string): string {
  return value.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * Builds and validates the configuration. Throws ConfigError
 * naming the first invalid variable.
 */
export function loadConfig(env: Env): AppConfig {
  const read = new EnvReader(env);
  const nodeEnv = read.oneOf(
    'NODE_ENV',
    ['development', 'production', 'test'] as const,
    'development',
  );
  const production = nodeEnv === 'production';
  const port = read.int('PORT', 8000, 0, 65535);
  const managementPort = read.optionalInt('MANAGEMENT_PORT', 0, 65535);
  if (managementPort !== undefined && managementPort !== 0 && managementPort === port) {
    throw new ConfigError('MANAGEMENT_PORT', 'a port different from PORT', String(managementPort));
  }
  const logLevel: LogLevel = read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info');
  const runTimeoutMs = read.int('RUN_TIMEOUT_MS', 300_000, 1000, 3_600_000);
  // A live run stops at RUN_TIMEOUT_MS and writes its end at once; the margin covers a slow write.
  const sweepMarginMs = Math.min(30_000, runTimeoutMs);
  return {
    env: nodeEnv,
    http: {
      port,
      host: read.string('HOST', '0.0.0.0'),
      bodyLimitBytes: 1024 * 1024,
      ...listenerTimeouts(read),
    },
    managementPort,
    log: {
      format: read.oneOf('LOG_FORMAT', ['json', 'pretty'] as const, production ? 'json' : 'pretty'),
      level: logLevel,
    },
    database: {
      url: read.url('DATABASE_URL', ['postgres', 'postgresql']),
      dataDir: read.path('DATA_DIR', './data'),
    },
    redis: {
      url: read.url('REDIS_URL', ['redis', 'rediss']),
      keyPrefix: read.string('REDIS_KEY_PREFIX', 'eap:'),
    },
    llm: {
      proxyUrl: read.url('LLM_PROXY_URL', ['http', 'https']),
      apiKey: read.optionalString('LLM_PROXY_API_KEY'),
      healthPath: normalisePath(read.string('LLM_PROXY_HEALTH_PATH', '/health/liveliness')),
      timeoutMs: read.int('LLM_TIMEOUT_MS', 60_000, 1, 3_600_000),
      maxRetries: read.int('LLM_MAX_RETRIES', 2, 0, 10),
      pricesFile: read.optionalString('LLM_PRICES_FILE'),
    },
    telemetry: {
      enabled: read.bool('ENABLE_TELEMETRY', false),
      // OTLP_ENDPOINT (the original's name) first, then the standard OpenTelemetry variables.
      otlpEndpoint:
        read.url('OTLP_ENDPOINT', ['http', 'https']) ??
        read.url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', ['http', 'https']) ??
        read.url('OTEL_EXPORTER_OTLP_ENDPOINT', ['http', 'https']) ??
        'http://localhost:4317',
      sampleRatio: read.ratio('TRACE_SAMPLE_RATIO', 1),
      serviceName: read.string('OTEL_SERVICE_NAME', 'enterprise-agent-platform'),
      captureMessageContent: read.bool('OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT', false),
      batch: {
        maxQueueSize: read.int('OTEL_BSP_MAX_QUEUE_SIZE', 2048, 1, 1_000_000),
        maxExportBatchSize: read.int('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, 1, 1_000_000),
        scheduledDelayMs: read.int('OTEL_BSP_SCHEDULE_DELAY', 5000, 1, 3_600_000),
        exportTimeoutMs: read.int('OTEL_BSP_EXPORT_TIMEOUT', 30_000, 1, 3_600_000),
      },
    },
    metrics: {
      enabled: read.bool('METRICS_ENABLED', true),
      token: read.optionalString('METRICS_TOKEN'),
      maxTenants: read.int('METRICS_MAX_TENANTS', 1000, 1, 100_000),
      knownModels: read.list('METRICS_KNOWN_MODELS', MODEL_NAME, 500),
    },
    health: {
      checkTimeoutMs: read.int('HEALTH_CHECK_TIMEOUT_MS', 2000, 1, 60_000),
      diskPath: read.path('HEALTH_DISK_PATH', tmpdir()),
      diskThreshold: read.ratio('HEALTH_DISK_THRESHOLD', 0.9),
    },
    runs: {
      timeoutMs: runTimeoutMs,
      sweepMarginMs,
      sweepIntervalMs: Math.min(60_000, sweepMarginMs),
    },
    shutdownDrainMs: read.int('SHUTDOWN_DRAIN_MS', 5000, 0, 600_000),
    adminApiKey: read.optionalString('ADMIN_API_KEY'),
    limits: {
      tenantMaxConcurrentRuns: read.int('TENANT_MAX_CONCURRENT_RUNS', 10, 1, 10_000),
    },
  };
}

/**
 * The API listener's bounds on slow clients. Node refuses a headers timeout
 * above the request timeout (the head is part of the request), so that is
 * checked here, naming the variable, instead of failing inside the server.
 */
function listenerTimeouts(
  read: EnvReader,
): Pick<AppConfig['http'], 'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs'> {
  const headersTimeoutMs = read.int('HTTP_HEADERS_TIMEOUT_MS', 10_000, 1000, 600_000);
  const requestTimeoutMs = read.int('HTTP_REQUEST_TIMEOUT_MS', 30_000, 1000, 600_000);
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError(
      'HTTP_HEADERS_TIMEOUT_MS',
      `at most HTTP_REQUEST_TIMEOUT_MS (${requestTimeoutMs}): the head is part of the request`,
      String(headersTimeoutMs),
    );
  }
  return {
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: read.int('HTTP_KEEP_ALIVE_TIMEOUT_MS', 72_000, 1000, 600_000),
  };
}

/** A model name as proxies write them: `gpt-4o-mini`, `openai/gpt-4o-mini`, `claude-3@20240229`. */
const MODEL_NAME = /^[A-Za-z0-9._:/@-]{1,128}$/;

function normalisePath(path: string): string {
  return path.startsWith('/') ? path : `/${path}`;
}
