import { renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { RuleFile, scaleRuleFile } from './alert-rules-scale';
import { DEPLOY, readYaml, type Doc } from './deploy-artefacts';
import type { PrometheusServer } from './prometheus-server';
import { waitFor } from './wait-for';

/** An alert as Prometheus lists it (GET /api/v1/alerts): pending or firing. */
export interface PrometheusAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly state: 'pending' | 'firing';
  readonly activeAt: string;
  readonly value: string;
}

/** One alert across Prometheus, Alertmanager and the webhook: its full label set. */
export function alertIdentity(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

/** deploy/prometheus/alerts.yml with every window and `for:` divided by `factor`, written into `dir`. */
export function writeScaledRules(dir: string, factor: number): string {
  const file = join(dir, 'alerts.scaled.yml');
  writeFileSync(file, toYaml(scaleRuleFile(readYaml<RuleFile>(DEPLOY.alerts), factor)));
  return file;
}

/**
 * deploy/prometheus/prometheus.yml with only what a test must change: the
 * intervals, the rule file (the scaled copy), the Alertmanager address, and
 * the platform's targets read from a file (file_sd) the test rewrites, so
 * an app restarted on another port, or a target set emptied, is what
 * Prometheus sees, as service discovery would show it.
 */
export function prometheusConfigForAlerts(options: {
  readonly rulesFile: string;
  readonly targetsFile: string;
  readonly alertmanagerTarget: string;
  readonly interval: string;
}): Record<string, Doc> {
  const base = readYaml<Record<string, Doc>>(DEPLOY.prometheusConfig);
  const { interval } = options;
  return {
    ...base,
    global: { ...base.global, scrape_interval: interval, evaluation_interval: interval },
    rule_files: [options.rulesFile],
    alerting: {
      ...base.alerting,
      alertmanagers: (base.alerting.alertmanagers as Record<string, Doc>[]).map((entry) => ({
        ...entry,
        static_configs: [{ targets: [options.alertmanagerTarget] }],
      })),
    },
    scrape_configs: (base.scrape_configs as Record<string, Doc>[]).map(
      ({ static_configs: _replaced, ...job }) => ({
        ...job,
        scrape_interval: interval,
        scrape_timeout: interval,
        file_sd_configs: [{ files: [options.targetsFile], refresh_interval: interval }],
      }),
    ),
  };
}

/** The file Prometheus reads the platform's targets from (file_sd). */
export class ScrapeTargets {
  constructor(readonly file: string) {
    this.set([]);
  }

  /** Replaces the target set at once (written aside, then renamed, so Prometheus never reads half a file). */
  set(targets: readonly string[]): void {
    const next = join(dirname(this.file), `.${Date.now()}.targets.tmp`);
    writeFileSync(next, JSON.stringify(targets.length > 0 ? [{ targets }] : []));
    renameSync(next, this.file);
  }
}

/** The alerts Prometheus holds now, pending and firing. */
export async function prometheusAlerts(prometheus: PrometheusServer): Promise<PrometheusAlert[]> {
  const response = await prometheus.api<{ data: { alerts: PrometheusAlert[] } }>('/api/v1/alerts');
  return response.data.alerts;
}

/** Resolves once every rule group has been evaluated `rounds` more times (a negative needs time, not a sleep). */
export async function evaluationRounds(
  prometheus: PrometheusServer,
  rounds: number,
  timeoutMs = 30_000,
): Promise<void> {
  const lastEvaluations = async (): Promise<number> => {
    const response = await prometheus.api<{ data: { groups: { lastEvaluation: string }[] } }>(
      '/api/v1/rules',
    );
    return Math.min(...response.data.groups.map((group) => Date.parse(group.lastEvaluation)));
  };
  let seen = await lastEvaluations();
  for (let round = 0; round < rounds; round++) {
    const before = seen;
    seen = await waitFor(
      async () => {
        const now = await lastEvaluations();
        return now > before && now;
      },
      { timeoutMs, intervalMs: 100 },
    );
  }
}
