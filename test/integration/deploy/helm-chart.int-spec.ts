import Ajv from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config';
import { startTestApp, TestApp } from '../../helpers/app';
import {
  DEPLOY,
  PROMETHEUS_JOB,
  readText,
  readYaml,
  REPO_ROOT,
  type Doc,
} from '../../helpers/deploy-artefacts';
import {
  countBlockActions,
  hasPath,
  readChartTemplates,
  renderSkeleton,
  SKELETON_FULLNAME,
  valuePathsReadBy,
} from '../../helpers/helm-skeleton';

const chart = DEPLOY.chart;
const values = readYaml<Record<string, Doc>>(join(chart, 'values.yaml'));
const templates = readChartTemplates(chart);
const readChartFile = (path: string): string => readFileSync(join(chart, path), 'utf8');

function render(name: string): Record<string, Doc>[] {
  const template = templates.get(name);
  if (template === undefined) throw new Error(`no template ${name}`);
  return renderSkeleton(template, values, readChartFile);
}

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1);
  return items[0];
}

/** Variables the app reads (SPEC section 3): the names loadConfig passes to its reader. */
function variablesTheAppReads(): Set<string> {
  const source = readText(join(REPO_ROOT, 'src/config/load-config.ts'));
  return new Set([...source.matchAll(/read\.\w+\(\s*'([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1] ?? ''));
}

describe('Helm chart helm/enterprise-agent-platform', () => {
  describe('values', () => {
    const schema = JSON.parse(readText(join(chart, 'values.schema.json'))) as object;
    const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(
      schema,
    );
    const withChange = (change: (copy: Record<string, Doc>) => void): Record<string, Doc> => {
      const copy = structuredClone(values);
      change(copy);
      return copy;
    };

    it('validates values.yaml against values.schema.json', () => {
      expect(validate(values) ? [] : validate.errors).toEqual([]);
    });

    it.each([
      ['a sample ratio above 1', (v: Record<string, Doc>) => (v.config.traceSampleRatio = 1.5)],
      ['an unknown top-level key', (v: Record<string, Doc>) => (v.replicas = 3)],
      ['a misspelt config key', (v: Record<string, Doc>) => (v.config.enableTelemtry = true)],
      [
        'a scrape interval that is not a duration',
        (v: Record<string, Doc>) => (v.monitoring.serviceMonitor.interval = '30 seconds'),
      ],
      [
        'a missing seed key',
        (v: Record<string, Doc>) => delete v.monitoring.serviceMonitor.interval,
      ],
      [
        'a DATABASE_URL that is not PostgreSQL',
        (v: Record<string, Doc>) => (v.secrets.databaseUrl = 'mysql://x'),
      ],
      [
        'an extra variable with a lower-case name',
        (v: Record<string, Doc>) => (v.config.extraEnv = { lower: 'x' }),
      ],
    ])('rejects %s', (_what, change) => {
      expect(validate(withChange(change))).toBe(false);
    });

    it("holds the original's keys with the documented defaults", () => {
      expect(values.config).toMatchObject({
        enableTelemetry: true,
        otlpEndpoint: 'http://opentelemetry-collector:4317',
        traceSampleRatio: 0.1,
      });
      expect(values.monitoring).toMatchObject({
        enabled: true,
        serviceMonitor: { enabled: true, interval: '30s' },
      });
    });

    it('defaults config to what the app itself defaults to, so the chart changes only what it means to', () => {
      const appDefaults = loadConfig({});
      expect(values.containerPort).toBe(appDefaults.http.port);
      expect(values.config.shutdownDrainMs).toBe(appDefaults.shutdownDrainMs);
      expect(values.config.llmProxyHealthPath).toBe(appDefaults.llm.healthPath);
      expect(values.config.llmTimeoutMs).toBe(appDefaults.llm.timeoutMs);
      expect(values.config.llmMaxRetries).toBe(appDefaults.llm.maxRetries);
      expect(values.config.metricsMaxTenants).toBe(appDefaults.metrics.maxTenants);
      expect(values.config.healthCheckTimeoutMs).toBe(appDefaults.health.checkTimeoutMs);
      expect(values.config.redisKeyPrefix).toBe(appDefaults.redis.keyPrefix);
    });

    it('every .Values path a template reads exists in values.yaml', () => {
      const missing = [...valuePathsReadBy(templates.values())].filter(
        (path) => !hasPath(values, path),
      );
      expect(missing).toEqual([]);
    });
  });

  describe('templates', () => {
    it.each([...templates.keys()])(
      '%s has balanced blocks and no template action inside a YAML comment',
      (name) => {
        const text = templates.get(name) ?? '';
        const { opened, ended } = countBlockActions(text);
        expect(ended).toBe(opened);
        const commentsWithActions = text
          .split('\n')
          .filter((line) => /^\s*#/.test(line) && line.includes('{{'));
        expect(commentsWithActions).toEqual([]);
      },
    );

    it('has the templates a real install needs, and NOTES.txt', () => {
      expect([...templates.keys()].sort()).toEqual(
        [
          'NOTES.txt',
          '_helpers.tpl',
          'configmap.yaml',
          'deployment.yaml',
          'hpa.yaml',
          'pdb.yaml',
          'prometheusrule.yaml',
          'secret.yaml',
          'service.yaml',
          'serviceaccount.yaml',
          'servicemonitor.yaml',
        ].sort(),
      );
      const chartYaml = readYaml<Record<string, string>>(join(chart, 'Chart.yaml'));
      const pkg = JSON.parse(readText(join(REPO_ROOT, 'package.json'))) as { version: string };
      expect(chartYaml).toMatchObject({
        apiVersion: 'v2',
        name: 'enterprise-agent-platform',
        appVersion: pkg.version,
      });
    });

    it.each([
      'configmap.yaml',
      'deployment.yaml',
      'service.yaml',
      'secret.yaml',
      'pdb.yaml',
      'hpa.yaml',
      'servicemonitor.yaml',
      'prometheusrule.yaml',
      'serviceaccount.yaml',
    ])('%s renders (structurally) to Kubernetes objects', (name) => {
      for (const document of render(name)) {
        expect(document).toEqual(
          expect.objectContaining({
            apiVersion: expect.any(String),
            kind: expect.any(String),
            metadata: expect.any(Object),
          }),
        );
      }
    });
  });

  describe('PrometheusRule', () => {
    it('reads the alert rules from the chart file with .Files.Get, not from a copy pasted into the template', () => {
      const template = templates.get('prometheusrule.yaml') ?? '';
      expect(template).toContain('.Files.Get "files/alerts.yml"');
      expect(template).not.toMatch(/alert:/);
      expect(template).toContain('.Values.monitoring.enabled');
      expect(template).toContain('.Values.monitoring.prometheusRule.enabled');
    });

    it('ships a byte-identical copy of deploy/prometheus/alerts.yml (cp deploy/prometheus/alerts.yml helm/enterprise-agent-platform/files/alerts.yml)', () => {
      expect(readChartFile('files/alerts.yml')).toBe(readText(DEPLOY.alerts));
    });

    it('holds exactly the groups of alerts.yml once rendered', () => {
      const rule = only(render('prometheusrule.yaml'));
      expect(rule).toMatchObject({
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PrometheusRule',
      });
      expect(rule.spec).toEqual(readYaml(DEPLOY.alerts));
    });
  });

  describe('ServiceMonitor', () => {
    it('scrapes /metrics at the configured interval as the job the rules and dashboard select', () => {
      const monitor = only(render('servicemonitor.yaml'));
      expect(monitor.kind).toBe('ServiceMonitor');
      expect(monitor.spec.endpoints).toEqual([
        expect.objectContaining({ path: '/metrics', interval: '30s', scrapeTimeout: '10s' }),
      ]);
      // jobLabel names a Service label whose value becomes `job`.
      expect(monitor.spec.jobLabel).toBe('app.kubernetes.io/part-of');
      expect(readText(join(chart, 'templates/_helpers.tpl'))).toContain(
        `app.kubernetes.io/part-of: ${PROMETHEUS_JOB}`,
      );
      const template = templates.get('servicemonitor.yaml') ?? '';
      expect(template).toContain('.Values.monitoring.serviceMonitor.interval');
      expect(template).toMatch(
        /if and \.Values\.monitoring\.enabled \.Values\.monitoring\.serviceMonitor\.enabled/,
      );
    });
  });

  describe('Deployment', () => {
    const deployment = only(render('deployment.yaml'));
    const pod = deployment.spec.template.spec;
    const container = only<Record<string, Doc>>(pod.containers);

    it('probes liveness on /health/live, readiness on /health/ready, and has a startup probe, all on the app port', () => {
      expect(container.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
      expect(container.startupProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      const http = (container.ports as Record<string, Doc>[]).find((port) => port.name === 'http');
      expect(http?.containerPort).toBe(values.containerPort);
      const configMap = only(render('configmap.yaml'));
      expect(configMap.data.PORT).toBe(String(values.containerPort));
    });

    it('gives a terminating pod longer than the drain plus the longest agent run (300 s)', () => {
      expect(pod.terminationGracePeriodSeconds).toBe(values.terminationGracePeriodSeconds);
      expect(values.terminationGracePeriodSeconds).toBeGreaterThan(
        values.config.shutdownDrainMs / 1000 + 300,
      );
    });

    it('runs as a non-root user with a read-only root file system', () => {
      expect(values.podSecurityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: expect.any(Number),
      });
      expect(values.podSecurityContext.runAsUser).toBeGreaterThan(0);
      expect(values.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
      });
      const template = templates.get('deployment.yaml') ?? '';
      expect(template).toContain('toYaml .Values.podSecurityContext');
      expect(template).toContain('toYaml .Values.securityContext');
      expect(
        (container.volumeMounts as { mountPath: string }[]).map((m) => m.mountPath).sort(),
      ).toEqual(['/app/data', '/tmp']);
    });

    it('reads its environment from the ConfigMap and the Secret', () => {
      expect(container.envFrom).toEqual([
        { configMapRef: { name: SKELETON_FULLNAME } },
        { secretRef: { name: expect.any(String) } },
      ]);
    });

    it('fails the install instead of rendering settings that cannot work', () => {
      const helpers = templates.get('_helpers.tpl') ?? '';
      expect(helpers).toMatch(/fail "secrets\.redisUrl/);
      expect(helpers).toMatch(/fail "secrets\.databaseUrl/);
      expect(helpers).toMatch(/fail "terminationGracePeriodSeconds/);
      expect(templates.get('deployment.yaml')).toMatch(/^\{\{- include "eap\.validate" \. \}\}/);
    });
  });

  describe('ConfigMap and Secret', () => {
    it('set only variables the app understands', () => {
      const known = variablesTheAppReads();
      expect(known.size).toBeGreaterThan(20);
      const configKeys = Object.keys(only(render('configmap.yaml')).data).filter(
        (key) => key !== 'TEMPLATED',
      );
      const secretKeys = Object.keys(only(render('secret.yaml')).stringData ?? {});
      const unknown = [...configKeys, ...secretKeys].filter((key) => !known.has(key));
      expect(unknown).toEqual([]);
      expect(configKeys).toEqual(
        expect.arrayContaining([
          'ENABLE_TELEMETRY',
          'OTLP_ENDPOINT',
          'TRACE_SAMPLE_RATIO',
          'SHUTDOWN_DRAIN_MS',
        ]),
      );
      expect(secretKeys.sort()).toEqual([
        'ADMIN_API_KEY',
        'DATABASE_URL',
        'LLM_PROXY_API_KEY',
        'METRICS_TOKEN',
        'REDIS_URL',
      ]);
    });

    it('passes integer settings through int, since Helm would print 3600000 from values as 3.6e+06', () => {
      const template = templates.get('configmap.yaml') ?? '';
      for (const variable of [
        'PORT',
        'MANAGEMENT_PORT',
        'LLM_TIMEOUT_MS',
        'LLM_MAX_RETRIES',
        'METRICS_MAX_TENANTS',
        'HEALTH_CHECK_TIMEOUT_MS',
        'SHUTDOWN_DRAIN_MS',
      ]) {
        expect(template).toMatch(
          new RegExp(`^  ${variable}: \\{\\{ \\.Values\\.[\\w.]+ \\| int \\| quote \\}\\}$`, 'm'),
        );
      }
    });

    it('keeps credentials out of the ConfigMap', () => {
      const configKeys = Object.keys(only(render('configmap.yaml')).data);
      expect(
        configKeys.filter((key) => /URL$|KEY$|TOKEN$/.test(key) && key !== 'LLM_PROXY_URL'),
      ).toEqual([]);
    });

    it('renders values the app accepts (the ConfigMap with the default values through loadConfig)', () => {
      const data = only(render('configmap.yaml')).data as Record<string, string>;
      // Entries of unset optional values (MANAGEMENT_PORT: null) sit behind an `if` in the template.
      const env = Object.fromEntries(
        Object.entries(data).filter(([key, value]) => key !== 'TEMPLATED' && value !== 'null'),
      );
      const config = loadConfig(env);
      expect(config).toMatchObject({
        env: 'production',
        http: { port: values.containerPort },
        telemetry: { enabled: true, sampleRatio: 0.1, otlpEndpoint: values.config.otlpEndpoint },
        log: { format: 'json' },
      });
    });
  });

  describe('against the running app', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp();
    });
    afterAll(() => app?.close());

    it.each(['/health/live', '/health/ready'])(
      'the app answers the probe path %s with 200',
      async (path) => {
        const res = await fetch(`${app.url}${path}`);
        expect(res.status).toBe(200);
      },
    );
  });
});
