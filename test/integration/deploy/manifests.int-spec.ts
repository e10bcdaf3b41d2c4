import { existsSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { dirname, join, resolve } from 'node:path';
import { METRIC } from '../../../src/observability/metrics/metric-names';
import { CHART_VALUE_SETS, OPERATOR_API } from '../../helpers/chart-value-sets';
import {
  dashboardPanels,
  dashboardQueries,
  DEPLOY,
  PROMETHEUS_JOB,
  readDashboard,
  readText,
  readYaml,
  readYamlDocuments,
  REPO_ROOT,
  type Doc,
} from '../../helpers/deploy-artefacts';
import { ALERTMANAGER_CONFIG, startAlertmanager } from '../../helpers/alertmanager';
import {
  ComposeService,
  dockerfileEnv,
  dockerfileHealthcheck,
  environmentOf,
  httpProbeOf,
  listenPortOf,
} from '../../helpers/compose';
import { startLlmSimulator } from '../../helpers/llm-simulator';
import { isPerSecondQuery, PER_SECOND_UNITS } from '../../helpers/dashboard-units';
import {
  documentationFiles,
  documentedHelmCommands,
  documentedSecretKeys,
  documentedValuesTables,
  effectiveRenderOptions,
  parseHelmCommand,
  type ParsedHelmCommand,
} from '../../helpers/helm-commands';
import {
  findObject,
  HelmRenderError,
  kindsOf,
  renderChart,
  type Rendered,
  type RenderOptions,
} from '../../helpers/helm-render';
import { schemaProblems, unknownFields } from '../../helpers/kubernetes-schema';
import { metricFamilyOf, parsePromql, substituteGrafanaVariables } from '../../helpers/promql';

/** A tag that names a version: not `latest`, not a moving branch, has a digit. */
function expectPinned(image: string): void {
  const tag = /:([^:/@]+)$/.exec(image)?.[1] ?? '';
  expect({ image, pinned: /\d/.test(tag) && !/^(latest|main|master|stable)$/.test(tag) }).toEqual({
    image,
    pinned: true,
  });
}

const PLATFORM_METRICS = new Set<string>(Object.values(METRIC));
/** prom-client's default process and Node.js metrics used by the dashboard, plus Prometheus' own `up`. */
const RUNTIME_METRICS = new Set([
  'up',
  'process_resident_memory_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_eventloop_lag_p99_seconds',
]);

/** Every documented helm command for this chart, parsed, with the values it renders with. */
function documentedChartCommands(): {
  where: string;
  parsed: ParsedHelmCommand;
  options: RenderOptions;
}[] {
  const parsed = documentedHelmCommands(documentationFiles()).flatMap((command) => {
    const result = parseHelmCommand(command);
    return result ? [{ where: command.where, parsed: result }] : [];
  });
  const file = (where: string) => where.replace(/:\d+$/, '');
  return parsed
    .map(({ where, parsed: command }, i) => {
      // An upgrade --reuse-values reuses the install before it in the same file, else any.
      const sameFile = parsed.slice(0, i).filter((earlier) => file(earlier.where) === file(where));
      const others = parsed.filter((other, j) => j !== i && file(other.where) !== file(where));
      const candidates = [...others, ...sameFile].map((candidate) => candidate.parsed);
      return { where, parsed: command, options: effectiveRenderOptions(command, candidates) };
    })
    .filter(({ parsed: command }) => command.ourChart);
}

/**
 * The clusters a documented command may meet: `helm template` and `helm lint`
 * render as written; `helm install` and `helm upgrade` must work on a cluster
 * with the Prometheus Operator and on one without.
 */
function renderings(command: { parsed: ParsedHelmCommand; options: RenderOptions }) {
  const { subcommand } = command.parsed;
  if (subcommand === 'template' || subcommand === 'lint') return [command.options];
  return [
    command.options,
    { ...command.options, apiVersions: [...(command.options.apiVersions ?? []), OPERATOR_API] },
  ];
}

function renderedWithOperator(options: RenderOptions): Rendered | undefined {
  try {
    return renderChart({ ...options, apiVersions: [...(options.apiVersions ?? []), OPERATOR_API] });
  } catch (error) {
    if (error instanceof HelmRenderError) return undefined;
    throw error;
  }
}

async function expectSchemaValid(options: RenderOptions): Promise<void> {
  const rendered = renderChart(options);
  expect(kindsOf(rendered)).toEqual(expect.arrayContaining(['ConfigMap', 'Deployment', 'Service']));
  for (const manifest of rendered.manifests) {
    expect({ source: manifest.source, problems: await schemaProblems(manifest.object) }).toEqual({
      source: manifest.source,
      problems: [],
    });
  }
}

describe('deployment manifests', () => {
  describe('Helm chart, rendered, against the Kubernetes and Prometheus Operator schemas', () => {
    it.each(Object.entries(CHART_VALUE_SETS))(
      '%s: every manifest passes its schema, with no unknown field',
      async (_name, options) => {
        await expectSchemaValid(options);
      },
    );

    it('the check reports wrong types, malformed quantities and durations, and unknown fields', async () => {
      const rendered = renderChart({ set: ['replicaCount=1'], apiVersions: [OPERATOR_API] });
      const deployment = structuredClone(findObject(rendered, 'Deployment'));
      deployment.spec.replicas = 'two';
      deployment.spec.template.spec.containers[0].resources.limits.cpu = '1 core';
      deployment.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
      deployment.metadata.labelz = {};
      const problems = await schemaProblems(deployment);
      expect(problems.join('\n')).toMatch(/spec\/replicas must be integer/);
      expect(problems.join('\n')).toMatch(/limits\/cpu must match format "quantity"/);
      expect(problems).toEqual(
        expect.arrayContaining([
          'unknown field metadata.labelz',
          'unknown field spec.template.spec.containers[0].imagePullPolicyy',
        ]),
      );
      const monitor = structuredClone(findObject(rendered, 'ServiceMonitor'));
      monitor.spec.endpoints[0].interval = '30 seconds';
      monitor.spec.endpoints[0].bearerTokenSecrett = {};
      expect((await schemaProblems(monitor)).join('\n')).toMatch(
        /interval must match pattern[\s\S]*unknown field spec\.endpoints\[0\]\.bearerTokenSecrett/,
      );
      expect(
        unknownFields({ apiVersion: 'v1', kind: 'ConfigMap', data: { ANY_KEY: 'x' } }),
      ).toEqual([]);
      expect(await schemaProblems({ apiVersion: 'example.com/v1', kind: 'Widget' })).toEqual([
        'no schema known for example.com/v1/Widget',
      ]);
    });
  });

  describe('the chart documentation in README.md and docs/*.md', () => {
    const commands = documentedChartCommands();

    it('the values table in the docs lists every key of values.yaml with its default', () => {
      const values = readYaml<Record<string, Doc>>(join(DEPLOY.chart, 'values.yaml'));
      const rows = documentedValuesTables(documentationFiles());
      const documented = rows.flatMap((row) => row.keys);
      const leaves: string[] = [];
      const walk = (node: Doc, path: string) => {
        const isTable = typeof node === 'object' && node !== null && !Array.isArray(node);
        if (isTable && Object.keys(node).length > 0) {
          for (const [key, child] of Object.entries(node))
            walk(child, path ? `${path}.${key}` : key);
        } else leaves.push(path);
      };
      walk(values, '');
      const covers = (key: string, leaf: string) =>
        key.endsWith('.*')
          ? leaf.startsWith(key.slice(0, -1))
          : leaf === key || leaf.startsWith(`${key}.`);
      expect(leaves.filter((leaf) => !documented.some((key) => covers(key, leaf)))).toEqual([]);
      const wrongDefaults = rows.flatMap((row) => {
        const key = row.keys.length === 1 ? row.keys[0] : undefined;
        if (key === undefined || row.defaultText === undefined || key.endsWith('.*')) return [];
        const actual = key.split('.').reduce<Doc>((node, part) => node?.[part], values);
        const matches =
          typeof actual === 'string'
            ? row.defaultText === actual || (actual === '' && row.defaultText === '""')
            : JSON.stringify(parseYaml(row.defaultText)) === JSON.stringify(actual);
        return matches
          ? []
          : [`${row.where}: ${key} documented as ${row.defaultText}, is ${JSON.stringify(actual)}`];
      });
      expect(wrongDefaults).toEqual([]);
    });

    it('include an install of this chart (so the checks below cannot pass on no command)', () => {
      expect(
        commands.filter(({ parsed }) => parsed.subcommand === 'install').length,
      ).toBeGreaterThan(0);
    });

    it.each(
      commands.map(
        (command) => [`${command.where}: helm ${command.parsed.subcommand}`, command] as const,
      ),
    )('%s renders, and every manifest passes its schema', async (_where, command) => {
      for (const options of renderings(command)) await expectSchemaValid(options);
    });

    it('give a release label to both the ServiceMonitor and the PrometheusRule, or to neither', () => {
      for (const command of commands) {
        const rendered = renderedWithOperator(command.options);
        // A command that does not render fails the test above.
        if (!rendered) continue;
        const labels = ['ServiceMonitor', 'PrometheusRule'].map(
          (kind) =>
            kindsOf(rendered).includes(kind) && findObject(rendered, kind).metadata.labels.release,
        );
        expect({ where: command.where, labels }).toEqual({
          where: command.where,
          labels: [labels[0], labels[0]],
        });
      }
    });

    it('send the metrics token exactly when the documented Secret holds METRICS_TOKEN', () => {
      const secrets = documentedSecretKeys(documentationFiles());
      for (const command of commands) {
        const rendered = renderedWithOperator(command.options);
        // A command that does not render fails the test above.
        if (!rendered) continue;
        const envFrom = findObject(rendered, 'Deployment').spec.template.spec.containers[0].envFrom;
        const secretName = envFrom.find((source: Doc) => source.secretRef)?.secretRef
          .name as string;
        const keys = secrets.get(secretName);
        if (!keys || !kindsOf(rendered).includes('ServiceMonitor')) continue;
        const sendsToken =
          'authorization' in findObject(rendered, 'ServiceMonitor').spec.endpoints[0];
        expect({ where: command.where, secret: secretName, sendsToken }).toEqual({
          where: command.where,
          secret: secretName,
          sendsToken: keys.has('METRICS_TOKEN'),
        });
      }
    });
  });

  describe('OpenTelemetry Collector', () => {
    const config = readYaml<Record<string, Doc>>(DEPLOY.collectorConfig);

    it('receives OTLP over gRPC and HTTP on all interfaces', () => {
      expect(config.receivers.otlp.protocols).toEqual({
        grpc: { endpoint: '0.0.0.0:4317' },
        http: { endpoint: '0.0.0.0:4318' },
      });
    });

    it('limits memory before batching, and exports OTLP (the Collector removed the jaeger exporter)', () => {
      const traces = config.service.pipelines.traces;
      expect(traces.receivers).toEqual(['otlp']);
      expect(traces.processors).toEqual(['memory_limiter', 'batch']);
      expect(config.processors.memory_limiter).toMatchObject({
        check_interval: expect.any(String),
      });
      expect(
        traces.exporters.every((name: string) => name === 'otlp' || name.startsWith('otlp/')),
      ).toBe(true);
      expect(Object.keys(config.exporters).some((name) => name.startsWith('jaeger'))).toBe(false);
    });

    it('serves the health_check extension', () => {
      expect(config.service.extensions).toEqual(['health_check']);
      expect(config.extensions.health_check.endpoint).toBe('0.0.0.0:13133');
    });

    describe('Kubernetes manifests', () => {
      const documents = readYamlDocuments<Record<string, Doc>>(DEPLOY.collectorManifests);
      const byKind = (kind: string) => documents.find((document) => document.kind === kind);

      it('are a ConfigMap, a Deployment and a Service', () => {
        expect(documents.map((document) => document.kind)).toEqual([
          'ConfigMap',
          'Deployment',
          'Service',
        ]);
      });

      it('carry the same collector configuration as deploy/otel-collector', () => {
        const embedded = byKind('ConfigMap')?.data['otel-collector-config.yaml'] as string;
        expect(embedded).toBe(readText(DEPLOY.collectorConfig));
      });

      it('pin the image, set resources, probe the health_check port, and mount the configuration', () => {
        const pod = byKind('Deployment')?.spec.template.spec;
        const container = pod.containers[0];
        expectPinned(container.image);
        expect(container.image).toMatch(/^otel\/opentelemetry-collector-contrib:/);
        expect(container.resources).toEqual({
          requests: { cpu: expect.anything(), memory: expect.anything() },
          limits: { cpu: expect.anything(), memory: expect.anything() },
        });
        expect(container.readinessProbe.httpGet.port).toBe('health');
        expect(container.livenessProbe.httpGet.port).toBe('health');
        const health = container.ports.find((port: { name: string }) => port.name === 'health');
        expect(health.containerPort).toBe(13133);
        const mount = container.volumeMounts[0];
        expect(container.args).toEqual([`--config=${mount.mountPath}/otel-collector-config.yaml`]);
        expect(pod.volumes[0].configMap.name).toBe(byKind('ConfigMap')?.metadata.name);
        expect(pod.securityContext.runAsNonRoot).toBe(true);
      });

      it('expose OTLP gRPC and HTTP through the Service the documented chart commands point at', () => {
        const service = byKind('Service');
        expect(service?.metadata.name).toBe('opentelemetry-collector');
        const ports = service?.spec.ports.map((port: { port: number }) => port.port);
        expect(ports).toEqual([4317, 4318]);
        const endpoints = documentedChartCommands()
          .flatMap(({ parsed }) => parsed.options.set ?? [])
          .filter((set) => set.startsWith('config.otlpEndpoint='))
          .map((set) => new URL(set.slice('config.otlpEndpoint='.length)));
        expect(endpoints.length).toBeGreaterThan(0);
        for (const endpoint of endpoints) {
          expect({ host: endpoint.hostname.split('.')[0], port: Number(endpoint.port) }).toEqual({
            host: 'opentelemetry-collector',
            port: 4317,
          });
        }
      });

      it('pass the Kubernetes schemas, with no field the schemas do not define', async () => {
        for (const document of documents) {
          expect({ kind: document.kind, problems: await schemaProblems(document) }).toEqual({
            kind: document.kind,
            problems: [],
          });
        }
      });
    });
  });

  describe('docker-compose.yml', () => {
    const compose = readYaml<{ services: Record<string, Record<string, Doc>> }>(DEPLOY.compose);
    const composeDir = dirname(DEPLOY.compose);

    it('runs the whole local stack', () => {
      expect(Object.keys(compose.services).sort()).toEqual(
        [
          'alertmanager',
          'api',
          'grafana',
          'jaeger',
          'litellm',
          'llm-sim',
          'otel-collector',
          'postgres',
          'prometheus',
          'redis',
        ].sort(),
      );
    });

    it('pins every image', () => {
      for (const service of Object.values(compose.services)) expectPinned(service.image as string);
    });

    it('mounts files that exist', () => {
      for (const service of Object.values(compose.services)) {
        for (const volume of (service.volumes ?? []) as string[]) {
          const source = volume.split(':')[0] ?? '';
          if (source.startsWith('.'))
            expect({ volume, exists: existsSync(resolve(composeDir, source)) }).toEqual({
              volume,
              exists: true,
            });
        }
      }
      expect(
        existsSync(
          resolve(
            composeDir,
            compose.services.api?.build.context,
            compose.services.api?.build.dockerfile,
          ),
        ),
      ).toBe(true);
    });

    it('gives Prometheus the scrape config and the alert rules, and scrapes the api service on its port', () => {
      const prometheus = compose.services.prometheus ?? {};
      expect(prometheus.volumes).toEqual(
        expect.arrayContaining([
          './prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro',
          './prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro',
        ]),
      );
      const scrape = readYaml(DEPLOY.prometheusConfig).scrape_configs[0];
      expect(scrape.static_configs[0].targets).toEqual([
        `api:${compose.services.api?.environment.PORT}`,
      ]);
    });

    it('provisions Grafana with the data source and the dashboard folder the provider reads', () => {
      const grafana = compose.services.grafana ?? {};
      const provider = readYaml(DEPLOY.grafanaDashboards).providers[0];
      expect(grafana.volumes).toEqual(
        expect.arrayContaining([
          './grafana/provisioning:/etc/grafana/provisioning:ro',
          `./grafana/dashboards:${provider.options.path}:ro`,
        ]),
      );
      const datasource = readYaml(DEPLOY.grafanaDatasources).datasources[0];
      expect(datasource).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    });

    it('wires the app to the services of the stack with variables the app understands', () => {
      const known = new Set(
        [
          ...readText(join(REPO_ROOT, 'src/config/load-config.ts')).matchAll(
            /read\.\w+\(\s*'([A-Z][A-Z0-9_]*)'/g,
          ),
        ].map((m) => m[1]),
      );
      const env = compose.services.api?.environment as Record<string, string>;
      expect(Object.keys(env).filter((name) => !known.has(name))).toEqual([]);
      expect(env).toMatchObject({
        DATABASE_URL: expect.stringMatching(/@postgres:5432\//),
        REDIS_URL: 'redis://redis:6379',
        LLM_PROXY_URL: 'http://litellm:4000',
        LLM_PROXY_HEALTH_PATH: '/health/liveliness',
        OTLP_ENDPOINT: 'http://otel-collector:4317',
        ENABLE_TELEMETRY: 'true',
      });
      expect(compose.services['otel-collector']?.environment.JAEGER_OTLP_ENDPOINT).toBe(
        'jaeger:4317',
      );
      const litellm = readYaml(DEPLOY.litellmConfig);
      const simulated = litellm.model_list.find(
        (model: { model_name: string }) => model.model_name === 'simulated',
      );
      expect(simulated.litellm_params.api_base).toBe('http://llm-sim:4010/v1');
      expect(compose.services['llm-sim']?.command).toEqual(
        expect.arrayContaining(['--port', '4010', '--host', '0.0.0.0']),
      );
    });
  });

  describe('docker-compose.yml healthchecks and alerting', () => {
    const compose = readYaml<{ services: Record<string, ComposeService> }>(DEPLOY.compose);
    const dockerfile = readText(DEPLOY.dockerfile);
    const appImage = compose.services.api?.image as string;
    const isAppImage = (service: ComposeService) => service.image === appImage;
    const imageEnv = (service: ComposeService) =>
      environmentOf(service, isAppImage(service) ? dockerfileEnv(dockerfile) : {});
    const probeOf = (service: ComposeService) =>
      httpProbeOf(
        service,
        isAppImage(service) ? dockerfileHealthcheck(dockerfile) : undefined,
        imageEnv(service),
      );
    const portOf = (service: ComposeService) =>
      listenPortOf(service, imageEnv(service), isAppImage(service));

    it('reads the Dockerfile healthcheck the app image carries (the one services of that image inherit)', () => {
      expect(probeOf({ image: appImage })).toEqual({ port: 8000, path: '/health/live' });
      expect(probeOf({ image: appImage, environment: { PORT: '9000' } })).toEqual({
        port: 9000,
        path: '/health/live',
      });
    });

    it('probes, in every HTTP healthcheck, the port its service listens on', () => {
      const probed = Object.entries(compose.services).filter(([, service]) => probeOf(service));
      expect(probed.map(([name]) => name)).toEqual(
        expect.arrayContaining(['alertmanager', 'api', 'llm-sim']),
      );
      for (const [name, service] of probed) {
        expect({ name, probed: probeOf(service)?.port }).toEqual({ name, probed: portOf(service) });
      }
    });

    it("gives the simulator a healthcheck of its own: the image's probes a port and path it does not serve", async () => {
      const service = compose.services['llm-sim'] ?? {};
      const inherited = httpProbeOf({}, dockerfileHealthcheck(dockerfile), imageEnv(service));
      expect(inherited?.port).not.toBe(portOf(service));
      const probe = probeOf(service);
      const simulator = await startLlmSimulator();
      try {
        expect((await fetch(`${simulator.url}${probe?.path}`)).status).toBe(200);
        expect((await fetch(`${simulator.url}${inherited?.path}`)).status).toBe(404);
      } finally {
        await simulator.close();
      }
    });

    it("probes the API's liveness route", () => {
      const controller = readText(join(REPO_ROOT, 'src/observability/health/health.controller.ts'));
      const probe = probeOf(compose.services.api ?? {});
      const [, base, route] = /^\/(\w+)\/(\w+)$/.exec(probe?.path ?? '') ?? [];
      expect(controller).toContain(`@Controller('${base}')`);
      expect(controller).toContain(`@Get('${route}')`);
    });

    it('probes a path the real Alertmanager answers, started with the shipped config', async () => {
      const probe = probeOf(compose.services.alertmanager ?? {});
      const alertmanager = await startAlertmanager(readYaml(ALERTMANAGER_CONFIG));
      try {
        expect((await fetch(`${alertmanager.url}${probe?.path}`)).status).toBe(200);
      } finally {
        await alertmanager.close();
      }
    });

    it('starts LiteLLM once the simulator behind it is healthy', () => {
      expect(compose.services.litellm?.depends_on).toMatchObject({
        'llm-sim': { condition: 'service_healthy' },
      });
    });

    it('sends Prometheus alerts to the alertmanager service, on its port, with the shipped config mounted', () => {
      const alerting = readYaml(DEPLOY.prometheusConfig).alerting;
      const targets = alerting.alertmanagers.flatMap((entry: Doc) =>
        entry.static_configs.flatMap((config: Doc) => config.targets as string[]),
      );
      const alertmanager = compose.services.alertmanager ?? {};
      expect(targets).toEqual([`alertmanager:${portOf(alertmanager)}`]);
      expect(compose.services.prometheus?.depends_on).toContain('alertmanager');
      const configFlag = (alertmanager.command as string[]).find((arg) =>
        arg.startsWith('--config.file='),
      );
      expect(alertmanager.volumes).toContain(
        `./alertmanager/alertmanager.yml:${configFlag?.slice('--config.file='.length)}:ro`,
      );
    });
  });

  describe('Dockerfile', () => {
    const dockerfile = readText(DEPLOY.dockerfile);
    const instructions = dockerfile
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));

    it('builds in several stages from a pinned Node 24 slim image, the version development and CI use', () => {
      expect(instructions.filter((line) => line.startsWith('FROM ')).length).toBeGreaterThanOrEqual(
        2,
      );
      const base = /^ARG NODE_IMAGE=(node:(\d+\.\d+\.\d+)-[a-z]+-slim)$/m.exec(dockerfile);
      expect(base?.[2]).toMatch(/^24\./);
      const useNode = /_eap_node_version="([^"]+)"/.exec(
        readText(join(REPO_ROOT, 'scripts/use-node.sh')),
      );
      expect(base?.[2]).toBe(useNode?.[1]);
      expect(
        instructions
          .filter((line) => line.startsWith('FROM '))
          .every((line) => line.startsWith('FROM ${NODE_IMAGE}')),
      ).toBe(true);
    });

    it('installs production dependencies only into the runtime image and builds with npm run build', () => {
      expect(dockerfile).toMatch(/RUN npm ci --omit=dev/);
      expect(dockerfile).toMatch(/RUN npm run build/);
      const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM '));
      expect(runtime).toMatch(/COPY --from=deps \/app\/node_modules/);
      expect(runtime).not.toMatch(/npm ci(?! --omit=dev)/);
    });

    it('runs as a numeric non-root user with telemetry preloaded, exactly as npm run start:prod does', () => {
      const runtime = instructions.slice(
        instructions.findLastIndex((line) => line.startsWith('FROM ')),
      );
      const user = runtime.find((line) => line.startsWith('USER '));
      expect(user).toMatch(/^USER [1-9]\d*(:\d+)?$/);
      const cmd = runtime.find((line) => line.startsWith('CMD '));
      const argv = JSON.parse(cmd?.slice(4) ?? '[]') as string[];
      const pkg = JSON.parse(readText(join(REPO_ROOT, 'package.json'))) as {
        scripts: Record<string, string>;
      };
      expect(argv.join(' ')).toBe(pkg.scripts['start:prod']);
      expect(argv.join(' ')).toBe(
        'node --enable-source-maps --require ./dist/src/instrumentation.js dist/src/main.js',
      );
      expect(runtime).toContain('EXPOSE 8000');
    });

    it('keeps dependencies, build output, secrets and git out of the build context', () => {
      const ignored = readText(DEPLOY.dockerignore).split('\n');
      expect(ignored).toEqual(
        expect.arrayContaining(['node_modules', 'dist', '.git', '.env', '.tools', 'data']),
      );
    });
  });

  describe('Grafana dashboard', () => {
    const dashboard = readDashboard();
    const panels = dashboardPanels(dashboard).filter((panel) => panel.type !== 'row');
    const queries = dashboardQueries(dashboard);
    const variables = new Map(
      dashboard.templating.list.map((variable) => [variable.name as string, variable]),
    );
    const substituted = (expr: string) => substituteGrafanaVariables(expr, { tenant_id: '.+' });

    it('has a data source variable and a multi-select tenant_id variable', () => {
      expect(variables.get('datasource')).toMatchObject({
        type: 'datasource',
        query: 'prometheus',
      });
      expect(variables.get('tenant_id')).toMatchObject({
        type: 'query',
        multi: true,
        includeAll: true,
        datasource: { uid: '${datasource}' },
      });
      for (const panel of panels)
        expect({ panel: panel.title, ds: (panel as Doc).datasource?.uid }).toEqual({
          panel: panel.title,
          ds: '${datasource}',
        });
    });

    it("has every panel of the original's list", () => {
      const titles = panels.map((panel) => panel.title).join('\n');
      for (const wanted of [
        /^Request rate$/m,
        /^Error rate/m,
        /^Latency P50 \/ P95 \/ P99/m,
        /^Active connections and agent runs$/m,
        /^LLM tokens/m,
        /^LLM latency/m,
        /^Token budget remaining per tenant$/m,
        /^Cost per hour/m,
        /^Agent runs by status$/m,
        /^Tool call rate$/m,
        /^Tool success rate$/m,
      ]) {
        expect(titles).toMatch(wanted);
      }
    });

    it('filters the budget panels by tenant_id', () => {
      const budget = queries.filter((query) =>
        /token_budget_(remaining|used_total|limit)/.test(query.expr),
      );
      expect(budget.length).toBeGreaterThanOrEqual(2);
      for (const query of budget) expect(query.expr).toContain('tenant_id=~"$tenant_id"');
    });

    it('computes cost per hour from llm_cost_usd_total and latency percentiles with sum by (le)', () => {
      expect(queries.find((query) => query.panelTitle.startsWith('Cost per hour'))?.expr).toMatch(
        /^sum by \(model\) \(rate\(llm_cost_usd_total\{[^}]*\}\[\$__rate_interval\]\)\) \* 3600$/,
      );
      const latency = queries.filter((query) => query.panelTitle.startsWith('Latency P50'));
      expect(
        latency.map(
          (query) =>
            /^histogram_quantile\((0\.\d+), sum by \(le\) \(rate\(http_request_duration_seconds_bucket/.exec(
              query.expr,
            )?.[1],
        ),
      ).toEqual(['0.5', '0.95', '0.99']);
    });

    it.each(queries.map((query) => [query.where, query.expr] as const))(
      '%s parses offline and uses only metrics the app exports',
      (_where, expr) => {
        const parsed = parsePromql(substituted(expr));
        expect(parsed.errors).toEqual([]);
        expect(parsed.metricNames.length).toBeGreaterThan(0);
        for (const selector of parsed.selectors)
          expect(selector).toContain(`job="${PROMETHEUS_JOB}"`);
        for (const name of parsed.metricNames) {
          expect({
            name,
            known: PLATFORM_METRICS.has(metricFamilyOf(name)) || RUNTIME_METRICS.has(name),
          }).toEqual({ name, known: true });
        }
      },
    );

    it('shows every metric of the platform somewhere', () => {
      const used = new Set(
        queries.flatMap((query) =>
          parsePromql(substituted(query.expr)).metricNames.map(metricFamilyOf),
        ),
      );
      expect(Object.values(METRIC).filter((metric) => !used.has(metric))).toEqual([]);
    });

    it.each(panels.map((panel) => [panel.title, panel] as const))(
      '%s shows a per-second unit exactly when it plots a per-second rate',
      (title, panel) => {
        const exprs = (panel.targets ?? []).flatMap((target) => (target.expr ? [target.expr] : []));
        const rates = exprs.filter((expr) => isPerSecondQuery(expr));
        // One unit per panel: a panel cannot mix rates and other values without overrides.
        expect({ title, mixed: rates.length > 0 && rates.length < exprs.length }).toEqual({
          title,
          mixed: false,
        });
        const unit = (panel as Doc).fieldConfig?.defaults?.unit as string | undefined;
        expect({ title, perSecondUnit: PER_SECOND_UNITS.has(unit ?? '') }).toEqual({
          title,
          perSecondUnit: rates.length > 0,
        });
      },
    );

    it.each([
      ['sum by (endpoint) (rate(x[$__rate_interval]))', true],
      ['sum(irate(x[1m])) or vector(0)', true],
      ['topk(5, sum by (model) (rate(x[5m])))', true],
      ['sum(rate(x[5m])) + sum(rate(y[5m]))', true],
      ['sum(rate(x[5m])) > 0', true],
      ['sum(rate(x[1h])) * 3600', false],
      ['sum(rate(x[5m])) / sum(rate(y[5m]))', false],
      ['histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))', false],
      ['sum(increase(x[5m]))', false],
      ['count(rate(x[5m]))', false],
      ['max by (tenant_id) (token_budget_remaining)', false],
    ])('tells a per-second rate from the rest: %s → %s', (expr, expected) => {
      expect(isPerSecondQuery(expr)).toBe(expected);
    });

    it('the offline parser reports a broken expression (so the check above can fail)', () => {
      expect(parsePromql('sum(rate(http_requests_total[5m])').errors).not.toEqual([]);
      expect(parsePromql('sum by (le) (rate(x_bucket[5m])) >').errors).not.toEqual([]);
    });

    it('refuses to substitute a Grafana variable it does not know', () => {
      expect(() => substituteGrafanaVariables('up{job=~"$nope"}', {})).toThrow(/\$nope/);
    });
  });
});
