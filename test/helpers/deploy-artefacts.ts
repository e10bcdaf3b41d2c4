import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

/** The repository root (test/helpers/../..). */
export const REPO_ROOT = resolve(__dirname, '..', '..');

export const DEPLOY = {
  prometheusConfig: join(REPO_ROOT, 'deploy/prometheus/prometheus.yml'),
  alerts: join(REPO_ROOT, 'deploy/prometheus/alerts.yml'),
  alertTests: join(REPO_ROOT, 'deploy/prometheus/alerts.test.yml'),
  dashboard: join(REPO_ROOT, 'deploy/grafana/dashboards/overview.json'),
  grafanaDatasources: join(REPO_ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yml'),
  grafanaDashboards: join(REPO_ROOT, 'deploy/grafana/provisioning/dashboards/dashboards.yml'),
  collectorConfig: join(REPO_ROOT, 'deploy/otel-collector/otel-collector-config.yaml'),
  collectorManifests: join(REPO_ROOT, 'deploy/k8s/otel-collector.yaml'),
  compose: join(REPO_ROOT, 'deploy/docker-compose.yml'),
  litellmConfig: join(REPO_ROOT, 'deploy/litellm/config.yaml'),
  chart: join(REPO_ROOT, 'helm/enterprise-agent-platform'),
  dockerfile: join(REPO_ROOT, 'Dockerfile'),
  dockerignore: join(REPO_ROOT, '.dockerignore'),
  runbooks: join(REPO_ROOT, 'docs/runbooks.md'),
} as const;

/**
 * A parsed YAML or JSON document of a deployment artefact. Tests walk these
 * freely and let their assertions check the shape.
 */

export type Doc = any;

/** The Prometheus job every artefact agrees on (scrape config, ServiceMonitor, alerts, dashboard). */
export const PROMETHEUS_JOB = 'enterprise-agent-platform';

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

export function readYaml<T = Doc>(path: string): T {
  return parseYaml(readText(path)) as T;
}

/** Every document of a multi-document YAML file; throws on the first syntax error. */
export function readYamlDocuments<T = Doc>(path: string): T[] {
  return parseAllDocuments(readText(path)).map((document) => {
    if (document.errors.length > 0) throw document.errors[0];
    return document.toJS() as T;
  });
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function readAlertRules(path: string = DEPLOY.alerts): AlertRule[] {
  const file = readYaml<{ groups: { rules: AlertRule[] }[] }>(path);
  return file.groups.flatMap((group) => group.rules);
}

export interface DashboardQuery {
  /** "Panel title / refId", for messages. */
  readonly where: string;
  readonly panelTitle: string;
  readonly expr: string;
}

interface Panel {
  type: string;
  title: string;
  targets?: { expr?: string; refId: string }[];
  panels?: Panel[];
}

export interface Dashboard {
  panels: Panel[];
  templating: { list: Record<string, Doc>[] };
  [key: string]: Doc;
}

export function readDashboard(path: string = DEPLOY.dashboard): Dashboard {
  return JSON.parse(readText(path)) as Dashboard;
}

/** Every panel of a dashboard, rows' nested panels included. */
export function dashboardPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** Every PromQL query of a dashboard's panels, Grafana variables still in place. */
export function dashboardQueries(dashboard: Dashboard): DashboardQuery[] {
  return dashboardPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? [])
      .filter((target) => typeof target.expr === 'string' && target.expr.trim() !== '')
      .map((target) => ({
        where: `${panel.title} / ${target.refId}`,
        panelTitle: panel.title,
        expr: target.expr as string,
      })),
  );
}
