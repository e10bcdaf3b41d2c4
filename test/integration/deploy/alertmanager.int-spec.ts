import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { stringify as toYaml } from 'yaml';
import {
  ALERTMANAGER_CONFIG,
  alertmanagerConfigFor,
  AlertmanagerServer,
  PostedAlert,
  startAlertmanager,
} from '../../helpers/alertmanager';
import { AlertWebhook, startAlertWebhook, WebhookAlert } from '../../helpers/alert-webhook';
import { PROMETHEUS_JOB, readAlertRules, readYaml, type Doc } from '../../helpers/deploy-artefacts';
import { requireBinary, runAmtool } from '../../helpers/prometheus-server';
import { waitFor } from '../../helpers/wait-for';

const TIMINGS = { groupWait: '300ms', groupInterval: '500ms', repeatInterval: '1h' };
/** Longer than group_wait plus a group_interval: a group that was going to notify has done so. */
const FLUSHED_MS = 1500;

type Labels = Record<string, string>;

const job = { job: PROMETHEUS_JOB };
const alert = (labels: Labels): PostedAlert => ({
  labels: { severity: 'critical', ...labels },
  annotations: { summary: `${labels.alertname} for the test` },
});
const identity = (labels: Labels): string =>
  [labels.alertname, labels.namespace ?? '-', labels.instance ?? '-', labels.job ?? '-'].join('/');

describe('deploy/alertmanager/alertmanager.yml', () => {
  const config = readYaml<Record<string, Doc>>(ALERTMANAGER_CONFIG);

  it('passes amtool check-config, with its receiver and four inhibit rules', async () => {
    const result = await runAmtool(
      ['check-config', 'alertmanager.yml'],
      dirname(ALERTMANAGER_CONFIG),
    );
    expect({ code: result.code, output: result.stdout + result.stderr }).toEqual({
      code: 0,
      output: expect.stringMatching(/SUCCESS[\s\S]*4 inhibit rules[\s\S]*1 receivers/),
    });
  });

  it('fails check-config on a broken file, so the check above can fail', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eap-amtool-'));
    try {
      const broken = { ...config, route: { ...config.route, group_wait: 'soon' } };
      writeFileSync(join(dir, 'alertmanager.yml'), toYaml(broken));
      const result = await runAmtool(['check-config', 'alertmanager.yml'], dir);
      expect(result.code).not.toBe(0);
      expect(result.stdout + result.stderr).toContain('"soon"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the fix when Alertmanager is missing, instead of skipping', () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      expect(() => requireBinary('alertmanager')).toThrow(
        /alertmanager is not on PATH: install Debian's "prometheus-alertmanager" package/,
      );
    } finally {
      process.env.PATH = path;
    }
  });

  it('groups by alertname, namespace and job, and sends resolved notifications', () => {
    expect(config.route.group_by).toEqual(['alertname', 'namespace', 'job']);
    for (const receiver of config.receivers as Doc[]) {
      for (const webhook of receiver.webhook_configs as Doc[]) {
        expect(webhook.send_resolved).toBe(true);
      }
    }
  });

  // The inhibit rules match with `equal` on these labels: an alert without them could not be tied
  // to its cause. (absent() keeps only job; the second inhibit rule is there for it.)
  it.each(readAlertRules().map((rule) => [rule.alert, rule.expr] as const))(
    '%s aggregates without dropping the namespace and job labels the inhibit rules match on',
    (_name, expr) => {
      expect(aggregationsDroppingLabels(expr, ['namespace', 'job'])).toEqual([]);
    },
  );

  it('the label check above finds an aggregation that drops them', () => {
    expect(aggregationsDroppingLabels('sum(rate(x[5m])) > 0', ['namespace', 'job'])).toEqual([
      'sum(rate(x[5m]))',
    ]);
    expect(
      aggregationsDroppingLabels('sum by (job) (x) / sum by (namespace, job) (y)', [
        'namespace',
        'job',
      ]),
    ).toEqual(['sum by (job) (x)']);
    expect(aggregationsDroppingLabels('sum without (job) (x)', ['namespace', 'job'])).toEqual([
      'sum without (job) (x)',
    ]);
  });

  describe('inhibit rules, on a real Alertmanager', () => {
    let webhook: AlertWebhook;
    let alertmanager: AlertmanagerServer;

    beforeEach(async () => {
      webhook = await startAlertWebhook();
      alertmanager = await startAlertmanager(alertmanagerConfigFor(webhook.url, TIMINGS));
    });

    afterEach(async () => {
      await alertmanager?.close();
      await webhook?.close();
    });

    /** Posts the alerts, waits for `delivered` at the webhook, and checks that `inhibited` never arrive. */
    async function expectRouting(
      alerts: Labels[],
      delivered: Labels[],
      inhibited: Labels[],
    ): Promise<void> {
      const since = webhook.notifications.length;
      await alertmanager.postAlerts(alerts.map(alert));
      const firing = (): WebhookAlert[] =>
        webhook.alertsSince(since).filter((entry) => entry.status === 'firing');
      await waitFor(
        () => {
          const arrived = new Set(firing().map((entry) => identity(entry.labels)));
          return delivered.every((labels) => arrived.has(identity(labels)));
        },
        { timeoutMs: 10_000, intervalMs: 50 },
      );
      const held = await alertmanager.alerts();
      const state = (labels: Labels) =>
        held.find((entry) => identity(entry.labels) === identity(labels))?.status;
      for (const labels of inhibited) {
        expect({ alert: identity(labels), state: state(labels)?.state }).toEqual({
          alert: identity(labels),
          state: 'suppressed',
        });
        expect(state(labels)?.inhibitedBy.length).toBeGreaterThan(0);
      }
      for (const labels of delivered) expect(state(labels)?.state).toBe('active');
      // A negative can only be awaited by time: by now every group has had its first flush and one more.
      await new Promise((wake) => setTimeout(wake, FLUSHED_MS));
      expect(
        firing()
          .map((entry) => identity(entry.labels))
          .sort(),
      ).toEqual(delivered.map(identity).sort());
      expect(webhook.rejected).toEqual([]);
    }

    it('a target down inhibits every other alert of its installation, and nothing of another', async () => {
      const down = {
        alertname: 'AgentPlatformDown',
        ...job,
        namespace: 'team-a',
        instance: '10.0.0.1:8000',
      };
      const otherReplica = { ...down, instance: '10.0.0.2:8000' };
      const errors = { alertname: 'HighErrorRate', ...job, namespace: 'team-a' };
      const budget = { alertname: 'TokenBudgetLow', ...job, namespace: 'team-a', tenant_id: 't1' };
      const otherInstallation = { alertname: 'HighErrorRate', ...job, namespace: 'team-b' };
      await expectRouting(
        [down, otherReplica, errors, budget, otherInstallation],
        [down, otherReplica, otherInstallation],
        [errors, budget],
      );
    });

    it('no target at all (absent: job, no instance, no namespace) inhibits every alert of the job', async () => {
      const absent = { alertname: 'AgentPlatformDown', ...job };
      const overflow = {
        alertname: 'MetricsLabelOverflow',
        ...job,
        namespace: 'team-a',
        metric: 'token_budget_remaining',
      };
      const notOurs = { alertname: 'DiskFull', job: 'node-exporter', namespace: 'team-a' };
      await expectRouting([absent, overflow, notOurs], [absent, notOurs], [overflow]);
    });

    it('the LLM proxy down inhibits the failed calls and runs it causes; failing calls inhibit the failed runs', async () => {
      const proxy = { alertname: 'LLMProxyDown', ...job, namespace: 'team-a' };
      const calls = { alertname: 'LLMRequestsFailing', ...job, namespace: 'team-a', model: 'm' };
      const runs = { alertname: 'AgentRunsFailing', ...job, namespace: 'team-a' };
      const callsElsewhere = { ...calls, namespace: 'team-b' };
      const runsElsewhere = { ...runs, namespace: 'team-b' };
      const unpriced = { alertname: 'LLMTokensUnpriced', ...job, namespace: 'team-b', model: 'm' };
      await expectRouting(
        [proxy, calls, runs, callsElsewhere, runsElsewhere, unpriced],
        [proxy, callsElsewhere, unpriced],
        [calls, runs, runsElsewhere],
      );
    });

    it('the LLM proxy down inhibits HighErrorRate of its installation only, until it resolves', async () => {
      const proxy = { alertname: 'LLMProxyDown', ...job, namespace: 'team-a' };
      const errors = { alertname: 'HighErrorRate', ...job, namespace: 'team-a' };
      const spans = { alertname: 'TraceSpansDropped', ...job, namespace: 'team-a' };
      const otherInstallation = { alertname: 'HighErrorRate', ...job, namespace: 'team-b' };
      await expectRouting(
        [proxy, errors, spans, otherInstallation],
        [proxy, spans, otherInstallation],
        [errors],
      );

      // The proxy is back while the errors still fill HighErrorRate's window: the inhibition
      // lifts and the consequence is delivered (the late page the runbook warns about).
      const since = webhook.notifications.length;
      await alertmanager.postAlerts([
        { ...alert(proxy), endsAt: new Date(Date.now() - 1000).toISOString() },
      ]);
      await waitFor(
        () => {
          const arrived = webhook.alertsSince(since);
          return (
            arrived.some(
              (entry) => entry.status === 'resolved' && entry.labels.alertname === proxy.alertname,
            ) &&
            arrived.some(
              (entry) => entry.status === 'firing' && identity(entry.labels) === identity(errors),
            )
          );
        },
        { timeoutMs: 10_000, intervalMs: 50 },
      );
    });
  });
});

/**
 * The outermost aggregations of `expr` that drop any of `labels` (`sum(...)`,
 * `max by (tenant_id) (...)`, `sum without (job) (...)`), as source text.
 */
function aggregationsDroppingLabels(expr: string, labels: readonly string[]): string[] {
  const dropping: string[] = [];
  const tree = parser.parse(expr);
  tree.iterate({
    enter(ref) {
      if (ref.name !== 'AggregateExpr') return undefined;
      const modifier = ref.node.getChild('AggregateModifier');
      let keeps = false;
      if (modifier) {
        const grouping = modifier.getChild('GroupingLabels');
        const listed = new Set(
          (grouping?.getChildren('LabelName') ?? []).map((label) =>
            expr.slice(label.from, label.to),
          ),
        );
        keeps = modifier.getChild('By')
          ? labels.every((label) => listed.has(label))
          : labels.every((label) => !listed.has(label));
      }
      if (!keeps) dropping.push(expr.slice(ref.from, ref.to));
      // Inner aggregations do not decide the result's labels.
      return false;
    },
  });
  return dropping;
}
