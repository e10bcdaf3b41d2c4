import { ConfigError, loadConfig } from './load-config';

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to throw');
}

describe(loadConfig.name, () => {
  it('applies the documented defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.http).toMatchObject({ port: 8000, host: '0.0.0.0' });
    expect(config.log).toEqual({ format: 'pretty', level: 'info' });
    expect(config.database).toEqual({ url: undefined, dataDir: './data' });
    expect(config.llm).toMatchObject({
      healthPath: '/health/liveliness',
      timeoutMs: 60000,
      maxRetries: 2,
    });
    expect(config.telemetry).toMatchObject({
      enabled: false,
      otlpEndpoint: 'http://localhost:4317',
      sampleRatio: 1,
    });
    expect(config.metrics).toEqual({
      enabled: true,
      token: undefined,
      maxTenants: 1000,
      knownModels: [],
    });
    expect(config.health).toMatchObject({ checkTimeoutMs: 2000, diskThreshold: 0.9 });
    expect(config.shutdownDrainMs).toBe(5000);
    expect(config.http).toMatchObject({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 72_000,
    });
    expect(config.runs).toEqual({
      timeoutMs: 300_000,
      sweepMarginMs: 30_000,
      sweepIntervalMs: 30_000,
    });
    expect(config.adminApiKey).toBeUndefined();
    expect(config.managementPort).toBeUndefined();
    expect(config.limits).toEqual({ tenantMaxConcurrentRuns: 10 });
  });

  it('switches logs to JSON in production', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).log.format).toBe('json');
    expect(loadConfig({ NODE_ENV: 'production', LOG_FORMAT: 'pretty' }).log.format).toBe('pretty');
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', REDIS_URL: '  ' })).toMatchObject({
      http: { port: 8000 },
      redis: { url: undefined },
    });
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['LLM_TIMEOUT_MS', '0'],
    ['LLM_MAX_RETRIES', 'many'],
    ['TRACE_SAMPLE_RATIO', '1.5'],
    ['TRACE_SAMPLE_RATIO', 'half'],
    ['HEALTH_DISK_THRESHOLD', '-0.1'],
    ['ENABLE_TELEMETRY', 'maybe'],
    ['METRICS_ENABLED', 'on-ish'],
    ['METRICS_MAX_TENANTS', '0'],
    ['LOG_LEVEL', 'loud'],
    ['LOG_FORMAT', 'xml'],
    ['NODE_ENV', 'staging'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['LLM_PROXY_URL', 'ftp://proxy'],
    ['OTLP_ENDPOINT', 'localhost'],
    ['METRICS_KNOWN_MODELS', 'gpt-4o, bad model'],
    ['METRICS_KNOWN_MODELS', 'x,'.repeat(501)],
    ['HTTP_HEADERS_TIMEOUT_MS', '999'],
    ['HTTP_HEADERS_TIMEOUT_MS', '10s'],
    ['HTTP_REQUEST_TIMEOUT_MS', '600001'],
    ['HTTP_REQUEST_TIMEOUT_MS', '0'],
    ['HTTP_KEEP_ALIVE_TIMEOUT_MS', '0'],
    ['HTTP_KEEP_ALIVE_TIMEOUT_MS', '72000.5'],
    ['RUN_TIMEOUT_MS', '999'],
    ['RUN_TIMEOUT_MS', '3600001'],
    ['RUN_TIMEOUT_MS', '5m'],
    ['TENANT_MAX_CONCURRENT_RUNS', '0'],
    ['TENANT_MAX_CONCURRENT_RUNS', '10001'],
    ['TENANT_MAX_CONCURRENT_RUNS', 'ten'],
  ])('rejects %s=%s with one line naming the variable', (variable, value) => {
    const error = errorOf({ [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
    expect(error.message).toContain('expected');
    expect(error.message).not.toContain('\n');
  });

  it('reads TENANT_MAX_CONCURRENT_RUNS from 1 to 10000', () => {
    expect(loadConfig({ TENANT_MAX_CONCURRENT_RUNS: '1' }).limits.tenantMaxConcurrentRuns).toBe(1);
    expect(loadConfig({ TENANT_MAX_CONCURRENT_RUNS: '10000' }).limits.tenantMaxConcurrentRuns).toBe(
      10_000,
    );
  });

  it('falls back to the standard OTEL_EXPORTER_OTLP_* endpoints when OTLP_ENDPOINT is unset', () => {
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317' }).telemetry.otlpEndpoint,
    ).toBe('http://collector:4317');
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4317',
      }).telemetry.otlpEndpoint,
    ).toBe('http://traces:4317');
    expect(
      loadConfig({
        OTLP_ENDPOINT: 'http://mine:4317',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317',
      }).telemetry.otlpEndpoint,
    ).toBe('http://mine:4317');
  });

  it('rejects a management port equal to the API port', () => {
    expect(errorOf({ PORT: '9000', MANAGEMENT_PORT: '9000' }).variable).toBe('MANAGEMENT_PORT');
  });

  it('refuses a headers timeout above the request timeout, naming both variables', () => {
    const error = errorOf({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '15000' });
    expect(error.variable).toBe('HTTP_HEADERS_TIMEOUT_MS');
    expect(error.message).toContain('at most HTTP_REQUEST_TIMEOUT_MS (15000)');
    // Equal is what Node allows: the head may take the whole request time.
    expect(
      loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '15000', HTTP_REQUEST_TIMEOUT_MS: '15000' }).http,
    ).toMatchObject({ headersTimeoutMs: 15_000, requestTimeoutMs: 15_000 });
  });

  it('derives the sweep margin and interval from RUN_TIMEOUT_MS: at most 30 s, never above the timeout', () => {
    expect(loadConfig({ RUN_TIMEOUT_MS: '3000' }).runs).toEqual({
      timeoutMs: 3000,
      sweepMarginMs: 3000,
      sweepIntervalMs: 3000,
    });
    expect(loadConfig({ RUN_TIMEOUT_MS: '3600000' }).runs).toEqual({
      timeoutMs: 3_600_000,
      sweepMarginMs: 30_000,
      sweepIntervalMs: 30_000,
    });
  });

  it('never echoes credentials of an invalid URL', () => {
    const error = errorOf({ DATABASE_URL: 'mysql://admin:hunter2@db/app' });
    expect(error.message).not.toContain('hunter2');
  });

  it('reads METRICS_KNOWN_MODELS as a comma-separated list', () => {
    expect(
      loadConfig({ METRICS_KNOWN_MODELS: ' house-llm , openai/gpt-4o-mini,, ' }).metrics
        .knownModels,
    ).toEqual(['house-llm', 'openai/gpt-4o-mini']);
  });

  it('parses booleans, ratios and trims trailing slashes from URLs', () => {
    const config = loadConfig({
      ENABLE_TELEMETRY: 'TRUE',
      TRACE_SAMPLE_RATIO: '0.1',
      LLM_PROXY_URL: 'http://litellm:4000/',
      LLM_PROXY_HEALTH_PATH: 'health/readiness',
    });
    expect(config.telemetry.enabled).toBe(true);
    expect(config.telemetry.sampleRatio).toBe(0.1);
    expect(config.llm.proxyUrl).toBe('http://litellm:4000');
    expect(config.llm.healthPath).toBe('/health/readiness');
  });
});
