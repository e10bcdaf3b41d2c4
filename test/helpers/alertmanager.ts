import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { readYaml, REPO_ROOT, type Doc } from './deploy-artefacts';
import { requireBinary } from './prometheus-server';
import { startServerProcess } from './server-process';

/** The shipped Alertmanager configuration (docker-compose mounts it). */
export const ALERTMANAGER_CONFIG = join(REPO_ROOT, 'deploy/alertmanager/alertmanager.yml');

/** An alert as Alertmanager's API v2 lists it (GET /api/v2/alerts). */
export interface AlertmanagerAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly fingerprint: string;
  readonly status: {
    readonly state: 'active' | 'suppressed' | 'unprocessed';
    readonly inhibitedBy: string[];
    readonly silencedBy: string[];
  };
}

/** An alert as a client posts it (POST /api/v2/alerts); Prometheus sends the same. */
export interface PostedAlert {
  readonly labels: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly startsAt?: string;
  /** In the past: the alert is resolved. */
  readonly endsAt?: string;
}

export interface AlertmanagerServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** host:port, for Prometheus' alerting.alertmanagers targets. */
  readonly target: string;
  /** Every alert Alertmanager holds, with its state (active, or suppressed and by what). */
  alerts(): Promise<AlertmanagerAlert[]>;
  /** Hands alerts to Alertmanager the way Prometheus does. */
  postAlerts(alerts: readonly PostedAlert[]): Promise<void>;
  close(): Promise<void>;
}

/** The timings a test wants instead of the production ones (30 s, 5 m, 4 h). */
export interface AlertmanagerTimings {
  readonly groupWait: string;
  readonly groupInterval: string;
  readonly repeatInterval: string;
}

/**
 * deploy/alertmanager/alertmanager.yml with only what a test must change:
 * every webhook receiver's URL, and the route's timings. The inhibit rules,
 * grouping and receivers stay as shipped.
 */
export function alertmanagerConfigFor(
  webhookUrl: string,
  timings: AlertmanagerTimings,
  base: Record<string, Doc> = readYaml<Record<string, Doc>>(ALERTMANAGER_CONFIG),
): Record<string, Doc> {
  const receivers = (base.receivers as Record<string, Doc>[]).map((receiver) => {
    const webhooks = receiver.webhook_configs as Record<string, Doc>[] | undefined;
    if (!webhooks) {
      throw new Error(`receiver ${receiver.name}: only webhook receivers can be pointed at a test`);
    }
    return {
      ...receiver,
      webhook_configs: webhooks.map((webhook) => ({ ...webhook, url: webhookUrl })),
    };
  });
  return {
    ...base,
    route: {
      ...base.route,
      group_wait: timings.groupWait,
      group_interval: timings.groupInterval,
      repeat_interval: timings.repeatInterval,
    },
    receivers,
  };
}

/**
 * Starts a real Alertmanager on a free loopback port with the given
 * configuration (written as alertmanager.yml into a temp dir), clustering
 * off, and waits until it answers /-/ready.
 */
export async function startAlertmanager(
  config: Record<string, unknown>,
): Promise<AlertmanagerServer> {
  const server = await startServerProcess({
    name: 'alertmanager',
    binary: requireBinary('alertmanager'),
    tempPrefix: 'eap-alertmanager-',
    readyPath: '/-/ready',
    prepare: (dir, port) => {
      const configFile = join(dir, 'alertmanager.yml');
      writeFileSync(configFile, toYaml(config));
      return [
        `--config.file=${configFile}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // Alone, not in a cluster: the default gossips on 0.0.0.0:9094.
        '--cluster.listen-address=',
        '--log.level=warn',
      ];
    },
  });

  const call = async (path: string, init?: RequestInit): Promise<Response> => {
    const res = await fetch(`${server.url}${path}`, {
      ...init,
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`alertmanager ${path}: ${res.status} ${await res.text()}`);
    return res;
  };

  return {
    url: server.url,
    target: `127.0.0.1:${server.port}`,
    alerts: async () => (await (await call('/api/v2/alerts')).json()) as AlertmanagerAlert[],
    postAlerts: async (alerts) => {
      await call('/api/v2/alerts', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
      });
    },
    close: server.close,
  };
}
