import Ajv from 'ajv';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config';
import { ManagementServer } from '../../../src/observability/management';
import { startTestApp, TestApp } from '../../helpers/app';
import { CREDENTIALS, OPERATOR_API } from '../../helpers/chart-value-sets';
import {
  DEPLOY,
  PROMETHEUS_JOB,
  readText,
  readYaml,
  REPO_ROOT,
  type Doc,
} from '../../helpers/deploy-artefacts';
import {
  findObject,
  kindsOf,
  objectsOf,
  renderChart,
  renderError,
  type Rendered,
  type RenderOptions,
} from '../../helpers/helm-render';

const chart = DEPLOY.chart;
const values = readYaml<Record<string, Doc>>(join(chart, 'values.yaml'));
const templatesDir = join(chart, 'templates');
const templates = new Map(
  readdirSync(templatesDir).map((name) => [name, readText(join(templatesDir, name))] as const),
);
const FULLNAME = 'eap-enterprise-agent-platform';

/** A trial install with the operator's API present: the smallest set that renders every object. */
const TRIAL: RenderOptions = { set: ['replicaCount=1'], apiVersions: [OPERATOR_API] };

function withSet(base: RenderOptions, ...set: string[]): RenderOptions {
  return { ...base, set: [...(base.set ?? []), ...set] };
}

function configMapData(rendered: Rendered): Record<string, string> {
  return findObject(rendered, 'ConfigMap').data as Record<string, string>;
}

function container(rendered: Rendered): Record<string, Doc> {
  const containers = findObject(rendered, 'Deployment').spec.template.spec.containers;
  expect(containers).toHaveLength(1);
  return containers[0];
}

/** Variables the app reads: the names loadConfig passes to its reader. */
function variablesTheAppReads(): Set<string> {
  const source = readText(join(REPO_ROOT, 'src/config/load-config.ts'));
  return new Set([...source.matchAll(/read\.\w+\(\s*'([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1] ?? ''));
}

/**
 * Variables the chart sets before the app reads them (none today). A test
 * below fails once the app reads one of them, so the entry is dropped then.
 */
const CHART_AHEAD_OF_APP: string[] = [];

/** A Kubernetes label selector (matchLabels and matchExpressions) against a set of labels. */
function selects(selector: Record<string, Doc>, labels: Record<string, string> = {}): boolean {
  const matchLabels = Object.entries((selector.matchLabels ?? {}) as Record<string, string>);
  const expressions = (selector.matchExpressions ?? []) as {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
  return (
    matchLabels.every(([key, value]) => labels[key] === value) &&
    expressions.every(({ key, operator, values: allowed = [] }) => {
      switch (operator) {
        case 'In':
          return key in labels && allowed.includes(labels[key] ?? '');
        case 'NotIn':
          return !(key in labels) || !allowed.includes(labels[key] ?? '');
        case 'Exists':
          return key in labels;
        case 'DoesNotExist':
          return !(key in labels);
      }
    })
  );
}

/**
 * kube-prometheus-stack's defaults (serviceMonitorSelectorNilUsesHelmValues and
 * ruleSelectorNilUsesHelmValues true): its Prometheus selects ServiceMonitors
 * and PrometheusRules labelled with its own release name, in every namespace.
 */
function kubePrometheusStackSelectors(release: string) {
  return {
    serviceMonitorSelector: { matchLabels: { release } },
    ruleSelector: { matchLabels: { release } },
  };
}

describe('Helm chart helm/enterprise-agent-platform, rendered by Helm’s template engine', () => {
  describe('values.yaml and values.schema.json', () => {
    it('the schema compiles in ajv strict mode (no unknown keywords) and holds values.yaml', () => {
      const schema = JSON.parse(readText(join(chart, 'values.schema.json'))) as object;
      const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(
        schema,
      );
      expect(validate(values) ? [] : validate.errors).toEqual([]);
    });

    it("holds the original's keys, with defaults that install on any cluster", () => {
      expect(values.config).toMatchObject({
        enableTelemetry: null,
        otlpEndpoint: '',
        traceSampleRatio: 0.1,
        runTimeoutMs: 300000,
      });
      expect(values.monitoring).toMatchObject({
        enabled: 'auto',
        labels: {},
        serviceMonitor: { enabled: true, interval: '30s' },
      });
      expect(values.managementPort).toBe(9464);
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
      expect(values.config.httpHeadersTimeoutMs).toBe(appDefaults.http.headersTimeoutMs);
      expect(values.config.httpRequestTimeoutMs).toBe(appDefaults.http.requestTimeoutMs);
      expect(values.config.httpKeepAliveTimeoutMs).toBe(appDefaults.http.keepAliveTimeoutMs);
      expect(values.config.runTimeoutMs).toBe(appDefaults.runs.timeoutMs);
      expect(values.config.tenantMaxConcurrentRuns).toBe(
        appDefaults.limits.tenantMaxConcurrentRuns,
      );
    });

    it('every .Values path a template reads exists in values.yaml', () => {
      const paths = new Set<string>();
      for (const text of templates.values()) {
        for (const match of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
          paths.add((match[1] ?? '').slice(1));
        }
      }
      const exists = (path: string) => {
        let node: unknown = values;
        for (const key of path.split('.')) {
          if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return false;
          node = (node as Record<string, unknown>)[key];
        }
        return true;
      };
      expect(paths.size).toBeGreaterThan(30);
      expect([...paths].filter((path) => !exists(path))).toEqual([]);
    });

    it.each<[string, RenderOptions, string]>([
      [
        'a sample ratio above 1 given with --set (a string to Helm)',
        withSet(TRIAL, 'config.traceSampleRatio=1.5'),
        '- config.traceSampleRatio: Does not match pattern',
      ],
      [
        'a sample ratio above 1 from a values file (a number)',
        { ...TRIAL, values: [{ config: { traceSampleRatio: 1.5 } }] },
        '- config.traceSampleRatio: Must be less than or equal to 1',
      ],
      [
        'an unknown top-level key',
        withSet(TRIAL, 'replicas=3'),
        '- (root): Additional property replicas is not allowed',
      ],
      [
        'a misspelt config key',
        withSet(TRIAL, 'config.enableTelemtry=true'),
        '- config: Additional property enableTelemtry is not allowed',
      ],
      [
        'a scrape interval that is not a Prometheus duration',
        withSet(TRIAL, 'monitoring.serviceMonitor.interval=30 seconds'),
        '- monitoring.serviceMonitor.interval: Does not match pattern',
      ],
      [
        'a DATABASE_URL that is not PostgreSQL',
        withSet(TRIAL, 'secrets.databaseUrl=mysql://x'),
        '- secrets.databaseUrl: Does not match pattern',
      ],
      [
        'an extra variable with a lower-case name',
        withSet(TRIAL, 'config.extraEnv.lower=x'),
        '- config.extraEnv: Property name of "lower" does not match',
      ],
      [
        'a CPU quantity Kubernetes cannot read (1 core)',
        withSet(TRIAL, 'resources.limits.cpu=1 core'),
        '- resources.limits.cpu: Does not match pattern',
      ],
      [
        'a memory quantity Kubernetes cannot read (256MB)',
        withSet(TRIAL, 'resources.requests.memory=256MB'),
        '- resources.requests.memory: Does not match pattern',
      ],
      [
        'a misspelt resources key',
        withSet(TRIAL, 'resources.limit.cpu=1'),
        '- resources: Additional property limit is not allowed',
      ],
      [
        'monitoring.enabled that is neither auto nor a boolean',
        withSet(TRIAL, 'monitoring.enabled=yes'),
        '- monitoring.enabled: monitoring.enabled must be one of the following: "auto", true, false',
      ],
      [
        'a label value that is not a string (Kubernetes labels are strings)',
        withSet(TRIAL, 'monitoring.labels.release=1'),
        '- monitoring.labels.release: Invalid type. Expected: string, given: integer',
      ],
      [
        'a headers timeout below the lowest the app takes',
        withSet(TRIAL, 'config.httpHeadersTimeoutMs=500'),
        '- config.httpHeadersTimeoutMs: Must be greater than or equal to 1000',
      ],
      [
        'a run timeout below the lowest the app takes',
        withSet(TRIAL, 'config.runTimeoutMs=500'),
        '- config.runTimeoutMs: Must be greater than or equal to 1000',
      ],
      [
        'a run timeout that is not a whole number of milliseconds',
        withSet(TRIAL, 'config.runTimeoutMs=5m'),
        '- config.runTimeoutMs: Invalid type. Expected: integer, given: string',
      ],
      [
        'a tenant concurrency limit of 0 (no run could ever start)',
        withSet(TRIAL, 'config.tenantMaxConcurrentRuns=0'),
        '- config.tenantMaxConcurrentRuns: Must be greater than or equal to 1',
      ],
    ])("refuses %s with Helm's schema message", (_what, options, message) => {
      const error = renderError(options);
      expect(error).toMatch(
        /^values don't meet the specifications of the schema\(s\) in the following chart\(s\):\nenterprise-agent-platform:\n/,
      );
      expect(error).toContain(message);
    });

    it('accepts the values a parent chart hands a subchart (global)', () => {
      expect(() =>
        renderChart({
          ...TRIAL,
          values: [{ global: {} }],
          set: ['replicaCount=1', 'global.imageRegistry=r.example.com'],
        }),
      ).not.toThrow();
    });

    it.each<[string, RenderOptions, string]>([
      ['an integer with --set (int64 to Helm)', withSet(TRIAL, 'config.traceSampleRatio=1'), '1'],
      [
        'a fraction with --set (a string to Helm)',
        withSet(TRIAL, 'config.traceSampleRatio=0.5'),
        '0.5',
      ],
      [
        'a fraction with --set-string',
        { ...TRIAL, setString: ['config.traceSampleRatio=0.25'] },
        '0.25',
      ],
      [
        'a number in a values file (float64)',
        { ...TRIAL, values: [{ config: { traceSampleRatio: 0.05 } }] },
        '0.05',
      ],
      [
        'a small number that %v would print as 1e-05',
        { ...TRIAL, values: [{ config: { traceSampleRatio: 0.00001 } }] },
        '0.00001',
      ],
      ['zero', withSet(TRIAL, 'config.traceSampleRatio=0'), '0'],
    ])(
      'renders a sample ratio given as %s as a decimal the app reads',
      (_what, options, expected) => {
        const data = configMapData(renderChart(options));
        expect(data.TRACE_SAMPLE_RATIO).toBe(expected);
        expect(loadConfig(data).telemetry.sampleRatio).toBe(Number(expected));
      },
    );
  });

  describe('refusals of settings that render but cannot work', () => {
    it.each<[string, RenderOptions, string]>([
      [
        'two replicas (the default) without Redis',
        {},
        'secrets.redisUrl (or secrets.existingSecret with REDIS_URL) is required for more than one replica',
      ],
      [
        'two replicas without a database',
        { set: ['secrets.redisUrl=redis://redis:6379'] },
        'secrets.databaseUrl (or secrets.existingSecret with DATABASE_URL) is required for more than one replica',
      ],
      [
        'autoscaling without Redis',
        { set: ['replicaCount=1', 'autoscaling.enabled=true'] },
        'secrets.redisUrl (or secrets.existingSecret with REDIS_URL) is required',
      ],
      [
        'a management port equal to the API port',
        withSet(TRIAL, 'managementPort=8000'),
        'managementPort must differ from containerPort (both 8000)',
      ],
      [
        'a scrape timeout above the interval',
        withSet(
          TRIAL,
          'monitoring.serviceMonitor.interval=1m',
          'monitoring.serviceMonitor.scrapeTimeout=90s',
        ),
        'monitoring.serviceMonitor.scrapeTimeout (90s) must not exceed monitoring.serviceMonitor.interval (1m)',
      ],
      [
        'autoscaling with minReplicas above maxReplicas',
        {
          set: [
            ...CREDENTIALS,
            'autoscaling.enabled=true',
            'autoscaling.minReplicas=5',
            'autoscaling.maxReplicas=3',
          ],
        },
        'autoscaling.minReplicas (5) must not exceed autoscaling.maxReplicas (3)',
      ],
      [
        'a grace period not longer than the drain plus one run',
        withSet(TRIAL, 'terminationGracePeriodSeconds=305'),
        'terminationGracePeriodSeconds (305) must exceed config.shutdownDrainMs plus config.runTimeoutMs (305 s)',
      ],
      [
        'a run timeout the default grace period does not cover',
        withSet(TRIAL, 'config.runTimeoutMs=600000'),
        'terminationGracePeriodSeconds (330) must exceed config.shutdownDrainMs plus config.runTimeoutMs (605 s)',
      ],
      [
        'a headers timeout above the request timeout',
        withSet(TRIAL, 'config.httpHeadersTimeoutMs=40000'),
        'config.httpHeadersTimeoutMs (40000) must not exceed config.httpRequestTimeoutMs (30000)',
      ],
      [
        'telemetry switched on with nowhere to export',
        withSet(TRIAL, 'config.enableTelemetry=true'),
        'config.enableTelemetry=true needs config.otlpEndpoint',
      ],
      [
        'a ServiceMonitor token the chart Secret does not hold',
        withSet(TRIAL, 'monitoring.serviceMonitor.useMetricsToken=true'),
        'monitoring.serviceMonitor.useMetricsToken=true needs secrets.metricsToken',
      ],
      [
        'an extra variable the chart sets itself',
        withSet(TRIAL, 'config.extraEnv.LOG_LEVEL=debug'),
        'config.extraEnv.LOG_LEVEL: the chart sets LOG_LEVEL itself',
      ],
      [
        'a credential among the extra variables',
        withSet(TRIAL, 'config.extraEnv.METRICS_TOKEN=t'),
        'config.extraEnv.METRICS_TOKEN: credentials belong in the Secret',
      ],
    ])('fails the render for %s, naming the values', (_what, options, message) => {
      const error = renderError(options);
      expect(error).toMatch(
        /^execution error at \(enterprise-agent-platform\/templates\/deployment\.yaml:\d+:\d+\): /,
      );
      expect(error).toContain(message);
    });

    it.each<[string, RenderOptions]>([
      [
        'a scrape timeout equal to the interval, spelt differently',
        withSet(
          TRIAL,
          'monitoring.serviceMonitor.interval=1m30s',
          'monitoring.serviceMonitor.scrapeTimeout=90s',
        ),
      ],
      [
        'a headers timeout equal to the request timeout',
        withSet(TRIAL, 'config.httpHeadersTimeoutMs=30000'),
      ],
      [
        'a grace period one second longer than the drain plus one run',
        withSet(TRIAL, 'terminationGracePeriodSeconds=306'),
      ],
      [
        'a longer run timeout with a grace period that covers it',
        withSet(TRIAL, 'config.runTimeoutMs=600000', 'terminationGracePeriodSeconds=620'),
      ],
      [
        'minReplicas equal to maxReplicas',
        {
          set: [
            ...CREDENTIALS,
            'autoscaling.enabled=true',
            'autoscaling.minReplicas=4',
            'autoscaling.maxReplicas=4',
          ],
        },
      ],
    ])('renders the boundary case: %s', (_what, options) => {
      expect(() => renderChart(options)).not.toThrow();
    });
  });

  describe('monitoring.enabled', () => {
    const operatorKinds = (options: RenderOptions) =>
      kindsOf(renderChart(options))
        .filter((kind) => kind === 'ServiceMonitor' || kind === 'PrometheusRule')
        .sort();

    it.each<[string, RenderOptions, string[]]>([
      ['auto (the default) on a cluster without the operator', { set: ['replicaCount=1'] }, []],
      [
        'auto on a cluster serving monitoring.coreos.com/v1',
        TRIAL,
        ['PrometheusRule', 'ServiceMonitor'],
      ],
      [
        'true without the API (helm template, GitOps)',
        { set: ['replicaCount=1', 'monitoring.enabled=true'] },
        ['PrometheusRule', 'ServiceMonitor'],
      ],
      [
        '"true" as a string (--set-string)',
        { set: ['replicaCount=1'], setString: ['monitoring.enabled=true'] },
        ['PrometheusRule', 'ServiceMonitor'],
      ],
      ['false on a cluster with the operator', withSet(TRIAL, 'monitoring.enabled=false'), []],
      [
        '"false" as a string (--set-string), which a template would otherwise take as true',
        { ...TRIAL, setString: ['monitoring.enabled=false'] },
        [],
      ],
      [
        'auto, with the PrometheusRule switched off',
        withSet(TRIAL, 'monitoring.prometheusRule.enabled=false'),
        ['ServiceMonitor'],
      ],
      [
        'auto, with the ServiceMonitor switched off',
        withSet(TRIAL, 'monitoring.serviceMonitor.enabled=false'),
        ['PrometheusRule'],
      ],
    ])('%s renders %j', (_what, options, expected) => {
      expect(operatorKinds(options)).toEqual(expected);
    });

    it('tells the installer why there is no ServiceMonitor when the cluster has no operator', () => {
      expect(renderChart({ set: ['replicaCount=1'] }).notes).toContain(
        'the cluster does not serve monitoring.coreos.com/v1',
      );
    });
  });

  describe('labels for the Prometheus that selects the operator objects (kube-prometheus-stack)', () => {
    const labelled = renderChart(
      withSet(
        TRIAL,
        'monitoring.labels.release=kube-prometheus-stack',
        'monitoring.serviceMonitor.labels.team=agents',
        'monitoring.prometheusRule.labels.severity-routing=pager',
      ),
    );
    const monitor = findObject(labelled, 'ServiceMonitor');
    const rule = findObject(labelled, 'PrometheusRule');

    it('gives monitoring.labels to both objects and the per-object labels to each', () => {
      expect(monitor.metadata.labels).toMatchObject({
        release: 'kube-prometheus-stack',
        team: 'agents',
      });
      expect(monitor.metadata.labels).not.toHaveProperty('severity-routing');
      expect(rule.metadata.labels).toMatchObject({
        release: 'kube-prometheus-stack',
        'severity-routing': 'pager',
      });
      expect(rule.metadata.labels).not.toHaveProperty('team');
    });

    it("is selected by kube-prometheus-stack's default serviceMonitorSelector and ruleSelector", () => {
      const selectors = kubePrometheusStackSelectors('kube-prometheus-stack');
      expect(selects(selectors.serviceMonitorSelector, monitor.metadata.labels)).toBe(true);
      expect(selects(selectors.ruleSelector, rule.metadata.labels)).toBe(true);
    });

    it('is not selected without the label, nor by another release, so the check above can fail', () => {
      const bare = renderChart(TRIAL);
      const selectors = kubePrometheusStackSelectors('kube-prometheus-stack');
      expect(
        selects(
          selectors.serviceMonitorSelector,
          findObject(bare, 'ServiceMonitor').metadata.labels,
        ),
      ).toBe(false);
      expect(
        selects(selectors.ruleSelector, findObject(bare, 'PrometheusRule').metadata.labels),
      ).toBe(false);
      expect(
        selects(kubePrometheusStackSelectors('monitoring').ruleSelector, rule.metadata.labels),
      ).toBe(false);
    });

    it('a per-object label wins over monitoring.labels for that object', () => {
      const both = renderChart(
        withSet(TRIAL, 'monitoring.labels.release=a', 'monitoring.serviceMonitor.labels.release=b'),
      );
      expect(findObject(both, 'ServiceMonitor').metadata.labels.release).toBe('b');
      expect(findObject(both, 'PrometheusRule').metadata.labels.release).toBe('a');
    });
  });

  describe('metrics port and ServiceMonitor', () => {
    /** The Service port, and the container port behind it, that the ServiceMonitor scrapes. */
    function scrapedPath(rendered: Rendered) {
      const monitor = findObject(rendered, 'ServiceMonitor');
      const services = objectsOf(rendered, 'Service').filter((service) =>
        selects(monitor.spec.selector, service.metadata.labels),
      );
      expect(services).toHaveLength(1);
      const service = services[0] ?? {};
      const endpoint = monitor.spec.endpoints[0];
      const servicePort = (service.spec.ports as Record<string, Doc>[]).find(
        (port) => port.name === endpoint.port,
      );
      const containerPort = (container(rendered).ports as Record<string, Doc>[]).find(
        (port) => port.name === servicePort?.targetPort,
      );
      return { monitor, service, endpoint, servicePort, containerPort };
    }

    it('by default scrapes /metrics on the management port through a ClusterIP metrics Service', () => {
      const rendered = renderChart(TRIAL);
      const { monitor, service, endpoint, servicePort, containerPort } = scrapedPath(rendered);
      expect(endpoint).toMatchObject({
        port: 'metrics',
        path: '/metrics',
        interval: '30s',
        scrapeTimeout: '10s',
      });
      expect(service.metadata.name).toBe(`${FULLNAME}-metrics`);
      expect(service.spec.type).toBe('ClusterIP');
      expect(servicePort?.port).toBe(9464);
      expect(containerPort?.containerPort).toBe(9464);
      expect(configMapData(rendered).MANAGEMENT_PORT).toBe('9464');
      expect(monitor.spec.namespaceSelector).toEqual({ matchNames: ['default'] });
      // jobLabel names a Service label whose value becomes `job`: the rules and the dashboard select on it.
      expect(monitor.spec.jobLabel).toBe('app.kubernetes.io/part-of');
      expect(service.metadata.labels[monitor.spec.jobLabel]).toBe(PROMETHEUS_JOB);
    });

    it('keeps the management port off the API Service, whatever its type', () => {
      for (const type of ['ClusterIP', 'NodePort', 'LoadBalancer']) {
        const rendered = renderChart(withSet(TRIAL, `service.type=${type}`));
        const api = findObject(rendered, 'Service', FULLNAME);
        expect(api.spec.type).toBe(type);
        expect(api.spec.ports).toEqual([
          { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
        ]);
        expect(findObject(rendered, 'Service', `${FULLNAME}-metrics`).spec.type).toBe('ClusterIP');
      }
    });

    it('follows another managementPort through the Service, the container and MANAGEMENT_PORT', () => {
      const rendered = renderChart(withSet(TRIAL, 'managementPort=9100'));
      const { servicePort, containerPort } = scrapedPath(rendered);
      expect([
        servicePort?.port,
        containerPort?.containerPort,
        configMapData(rendered).MANAGEMENT_PORT,
      ]).toEqual([9100, 9100, '9100']);
    });

    it('with managementPort null scrapes the API port and sets no MANAGEMENT_PORT', () => {
      const rendered = renderChart(withSet(TRIAL, 'managementPort=null'));
      const { service, endpoint, containerPort } = scrapedPath(rendered);
      expect(service.metadata.name).toBe(FULLNAME);
      expect(endpoint.port).toBe('http');
      expect(containerPort?.containerPort).toBe(8000);
      expect(objectsOf(rendered, 'Service')).toHaveLength(1);
      expect(configMapData(rendered)).not.toHaveProperty('MANAGEMENT_PORT');
    });

    it('the Services select exactly the pods of the Deployment', () => {
      const rendered = renderChart(TRIAL);
      const podLabels = findObject(rendered, 'Deployment').spec.template.metadata.labels;
      for (const service of objectsOf(rendered, 'Service')) {
        expect(selects({ matchLabels: service.spec.selector }, podLabels)).toBe(true);
      }
      expect(selects(findObject(rendered, 'Deployment').spec.selector, podLabels)).toBe(true);
    });
  });

  describe('scrape credentials', () => {
    it.each<[string, RenderOptions, { name: string; key: string } | undefined]>([
      ['no token anywhere', TRIAL, undefined],
      [
        'secrets.metricsToken in the chart Secret',
        withSet(TRIAL, 'secrets.metricsToken=s3cr3t'),
        { name: FULLNAME, key: 'METRICS_TOKEN' },
      ],
      [
        'an existing Secret with useMetricsToken',
        withSet(
          TRIAL,
          'secrets.existingSecret=eap-secrets',
          'monitoring.serviceMonitor.useMetricsToken=true',
        ),
        { name: 'eap-secrets', key: 'METRICS_TOKEN' },
      ],
      [
        'an existing Secret without useMetricsToken (the chart cannot see inside it)',
        withSet(TRIAL, 'secrets.existingSecret=eap-secrets'),
        undefined,
      ],
    ])('with %s, the ServiceMonitor sends %j', (_what, options, credentials) => {
      const rendered = renderChart(options);
      const endpoint = findObject(rendered, 'ServiceMonitor').spec.endpoints[0];
      if (credentials === undefined) {
        expect(endpoint).not.toHaveProperty('authorization');
        return;
      }
      expect(endpoint.authorization).toEqual({ type: 'Bearer', credentials });
      expect(container(rendered).envFrom).toContainEqual({ secretRef: { name: credentials.name } });
      if (credentials.name === FULLNAME) {
        expect(findObject(rendered, 'Secret').stringData).toMatchObject({
          METRICS_TOKEN: 's3cr3t',
        });
      }
    });
  });

  describe('telemetry', () => {
    it.each<[string, string[], { enabled: boolean; endpoint?: string }]>([
      ['no endpoint (the default)', [], { enabled: false }],
      [
        'an endpoint',
        ['config.otlpEndpoint=http://otel.observability:4317'],
        { enabled: true, endpoint: 'http://otel.observability:4317' },
      ],
      [
        'an endpoint and enableTelemetry=true',
        ['config.otlpEndpoint=http://otel:4317', 'config.enableTelemetry=true'],
        { enabled: true, endpoint: 'http://otel:4317' },
      ],
      [
        'an endpoint switched off with enableTelemetry=false',
        ['config.otlpEndpoint=http://otel:4317', 'config.enableTelemetry=false'],
        { enabled: false, endpoint: 'http://otel:4317' },
      ],
      [
        'enableTelemetry=false and no endpoint',
        ['config.enableTelemetry=false'],
        { enabled: false },
      ],
    ])('with %s the app is configured to match', (_what, set, expected) => {
      const data = configMapData(renderChart(withSet(TRIAL, ...set)));
      expect(data.ENABLE_TELEMETRY).toBe(String(expected.enabled));
      expect(data.OTLP_ENDPOINT).toBe(expected.endpoint);
      expect(loadConfig(data).telemetry.enabled).toBe(expected.enabled);
    });
  });

  describe('Deployment', () => {
    const rendered = renderChart(TRIAL);
    const deployment = findObject(rendered, 'Deployment');
    const pod = deployment.spec.template.spec;
    const api = container(rendered);

    it('probes liveness on /health/live, readiness on /health/ready, and has a startup probe, all on the API port', () => {
      expect(api.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(api.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
      expect(api.startupProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      const http = (api.ports as Record<string, Doc>[]).find((port) => port.name === 'http');
      expect(http?.containerPort).toBe(values.containerPort);
      expect(configMapData(rendered).PORT).toBe(String(values.containerPort));
    });

    it('gives a terminating pod longer than the drain plus one whole run (RUN_TIMEOUT_MS)', () => {
      expect(pod.terminationGracePeriodSeconds).toBe(330);
      const data = configMapData(rendered);
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(
        (Number(data.SHUTDOWN_DRAIN_MS) + Number(data.RUN_TIMEOUT_MS)) / 1000,
      );
      expect(data.RUN_TIMEOUT_MS).toBe('300000');
    });

    it('runs as a non-root user with a read-only root file system', () => {
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(api.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect((api.volumeMounts as { mountPath: string }[]).map((m) => m.mountPath).sort()).toEqual([
        '/app/data',
        '/tmp',
      ]);
    });

    it("reads its environment from the ConfigMap and the chart's Secret, or the existing one", () => {
      expect(api.envFrom).toEqual([
        { configMapRef: { name: FULLNAME } },
        { secretRef: { name: FULLNAME } },
      ]);
      const existing = container(renderChart(withSet(TRIAL, 'secrets.existingSecret=eap-secrets')));
      expect(existing.envFrom).toEqual([
        { configMapRef: { name: FULLNAME } },
        { secretRef: { name: 'eap-secrets' } },
      ]);
    });

    it('rolls the pods when the ConfigMap or the chart Secret changes', () => {
      const annotations = (options: RenderOptions) =>
        findObject(renderChart(options), 'Deployment').spec.template.metadata.annotations as Record<
          string,
          string
        >;
      const base = annotations(TRIAL);
      expect(base['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
      expect(annotations(withSet(TRIAL, 'config.logLevel=debug'))['checksum/config']).not.toBe(
        base['checksum/config'],
      );
      expect(annotations(withSet(TRIAL, 'secrets.adminApiKey=k'))['checksum/secret']).not.toBe(
        base['checksum/secret'],
      );
      expect(annotations(withSet(TRIAL, 'secrets.existingSecret=eap-secrets'))).not.toHaveProperty(
        'checksum/secret',
      );
    });

    it('leaves the replica count to the HorizontalPodAutoscaler when autoscaling, and guards it with a PodDisruptionBudget', () => {
      const scaled = renderChart({
        set: [
          ...CREDENTIALS,
          'autoscaling.enabled=true',
          'autoscaling.minReplicas=3',
          'autoscaling.maxReplicas=6',
        ],
      });
      expect(findObject(scaled, 'Deployment').spec).not.toHaveProperty('replicas');
      expect(findObject(scaled, 'HorizontalPodAutoscaler').spec).toMatchObject({
        minReplicas: 3,
        maxReplicas: 6,
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: FULLNAME },
      });
      expect(findObject(scaled, 'PodDisruptionBudget').spec.minAvailable).toBe(1);
      expect(kindsOf(rendered)).not.toContain('PodDisruptionBudget');
      expect(deployment.spec.replicas).toBe(1);
    });
  });

  describe('ConfigMap and Secret', () => {
    const everything = renderChart({
      ...TRIAL,
      set: [
        ...CREDENTIALS,
        'secrets.llmProxyApiKey=sk',
        'secrets.adminApiKey=admin',
        'secrets.metricsToken=metrics',
        'config.llmProxyUrl=http://litellm:4000',
        'config.otlpEndpoint=http://otel:4317',
        'config.extraEnv.HEALTH_DISK_THRESHOLD=0.8',
        'config.httpHeadersTimeoutMs=15000',
        'config.httpKeepAliveTimeoutMs=90000',
      ],
    });

    it('set only variables the app understands', () => {
      const known = new Set([...variablesTheAppReads(), ...CHART_AHEAD_OF_APP]);
      expect(known.size).toBeGreaterThan(20);
      const configKeys = Object.keys(configMapData(everything));
      const secretKeys = Object.keys(findObject(everything, 'Secret').stringData ?? {});
      expect([...configKeys, ...secretKeys].filter((key) => !known.has(key))).toEqual([]);
      expect(secretKeys.sort()).toEqual([
        'ADMIN_API_KEY',
        'DATABASE_URL',
        'LLM_PROXY_API_KEY',
        'METRICS_TOKEN',
        'REDIS_URL',
      ]);
    });

    it('sets ahead of the app only variables it does not read yet', () => {
      const known = variablesTheAppReads();
      expect(CHART_AHEAD_OF_APP.filter((name) => known.has(name))).toEqual([]);
    });

    it('lists in eap.chartVariables exactly the variables the ConfigMap template sets', () => {
      const listed = /define "eap\.chartVariables" -\}\}\n(.*)\n/
        .exec(templates.get('_helpers.tpl') ?? '')?.[1]
        ?.split(' ');
      const set = [
        ...(templates.get('configmap.yaml') ?? '').matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm),
      ].map((m) => m[1]);
      expect(listed?.sort()).toEqual(set.sort());
    });

    it('renders integers from values files as integers, never as 3.6e+06', () => {
      const data = configMapData(
        renderChart({
          ...TRIAL,
          values: [
            { config: { llmTimeoutMs: 3600000, runTimeoutMs: 1800000, shutdownDrainMs: 10000 } },
          ],
          set: ['replicaCount=1', 'terminationGracePeriodSeconds=1900'],
        }),
      );
      expect([data.LLM_TIMEOUT_MS, data.RUN_TIMEOUT_MS, data.SHUTDOWN_DRAIN_MS]).toEqual([
        '3600000',
        '1800000',
        '10000',
      ]);
    });

    it('passes the per-tenant run limit to the app, and the app accepts what the schema does', () => {
      for (const limit of [1, 10, 10000]) {
        const data = configMapData(
          renderChart(withSet(TRIAL, `config.tenantMaxConcurrentRuns=${limit}`)),
        );
        expect(data.TENANT_MAX_CONCURRENT_RUNS).toBe(String(limit));
        expect(loadConfig(data).limits.tenantMaxConcurrentRuns).toBe(limit);
      }
      expect(renderError(withSet(TRIAL, 'config.tenantMaxConcurrentRuns=10001'))).toContain(
        '- config.tenantMaxConcurrentRuns: Must be less than or equal to 10000',
      );
    });

    it('keeps credentials out of the ConfigMap', () => {
      const configKeys = Object.keys(configMapData(everything));
      expect(
        configKeys.filter((key) => /URL$|KEY$|TOKEN$/.test(key) && key !== 'LLM_PROXY_URL'),
      ).toEqual([]);
    });

    it('renders a Secret without data for a trial, not one with a null stringData', () => {
      const secret = findObject(renderChart(TRIAL), 'Secret');
      expect(secret).not.toHaveProperty('stringData');
    });

    it('renders a ConfigMap the app accepts (through loadConfig)', () => {
      const config = loadConfig(configMapData(everything));
      expect(config).toMatchObject({
        env: 'production',
        http: {
          port: values.containerPort,
          headersTimeoutMs: 15_000,
          requestTimeoutMs: 30_000,
          keepAliveTimeoutMs: 90_000,
        },
        telemetry: { enabled: true, sampleRatio: 0.1, otlpEndpoint: 'http://otel:4317' },
        log: { format: 'json' },
        llm: { proxyUrl: 'http://litellm:4000' },
      });
      expect(loadConfig(configMapData(renderChart(TRIAL))).telemetry.enabled).toBe(false);
    });
  });

  describe('PrometheusRule', () => {
    it('reads the alert rules from the chart file with .Files.Get, not from a copy pasted into the template', () => {
      const template = templates.get('prometheusrule.yaml') ?? '';
      expect(template).toContain('.Files.Get "files/alerts.yml"');
      expect(template).not.toMatch(/alert:/);
    });

    it('ships a byte-identical copy of deploy/prometheus/alerts.yml (cp deploy/prometheus/alerts.yml helm/enterprise-agent-platform/files/alerts.yml)', () => {
      expect(readFileSync(join(chart, 'files/alerts.yml'), 'utf8')).toBe(readText(DEPLOY.alerts));
    });

    it('holds exactly the groups of alerts.yml once rendered, $labels templates untouched', () => {
      const rule = findObject(renderChart(TRIAL), 'PrometheusRule');
      expect(rule.spec).toEqual(readYaml(DEPLOY.alerts));
      expect(JSON.stringify(rule.spec)).toContain('{{ $labels.instance }}');
    });
  });

  describe('the app started with the rendered ConfigMap and Secret', () => {
    const TOKEN = 's3cr3t-token';
    const rendered = renderChart(withSet(TRIAL, `secrets.metricsToken=${TOKEN}`));
    let app: TestApp;
    let management: string;
    beforeAll(async () => {
      app = await startTestApp({
        ...configMapData(rendered),
        ...(findObject(rendered, 'Secret').stringData as Record<string, string>),
        // Ports the test machine has free, a quiet log and no drain; the rest as rendered.
        HOST: '127.0.0.1',
        PORT: '0',
        MANAGEMENT_PORT: '0',
        LOG_LEVEL: 'silent',
        SHUTDOWN_DRAIN_MS: '0',
      });
      management = `http://127.0.0.1:${app.app.get(ManagementServer).port}`;
    });
    afterAll(() => app?.close());

    it.each(['/health/live', '/health/ready'])(
      'answers the probe path %s with 200 on the API port',
      async (path) => {
        expect((await fetch(`${app.url}${path}`)).status).toBe(200);
      },
    );

    it('serves no /metrics on the API port (the one the API Service exposes)', async () => {
      expect((await fetch(`${app.url}/metrics`)).status).toBe(404);
    });

    it('answers the ServiceMonitor on the management port with the token it sends, and 401 without', async () => {
      const endpoint = findObject(rendered, 'ServiceMonitor').spec.endpoints[0];
      expect(endpoint.authorization.credentials.key).toBe('METRICS_TOKEN');
      expect((await fetch(`${management}${endpoint.path}`)).status).toBe(401);
      const scrape = await fetch(`${management}${endpoint.path}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(scrape.status).toBe(200);
      expect(await scrape.text()).toMatch(/^# HELP /m);
    });
  });
});
