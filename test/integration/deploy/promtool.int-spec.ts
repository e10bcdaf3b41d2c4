import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { METRIC } from '../../../src/observability/metrics/metric-names';
import {
  DEPLOY,
  PROMETHEUS_JOB,
  readAlertRules,
  readText,
  readYaml,
  type Doc,
} from '../../helpers/deploy-artefacts';
import { requireBinary, runPromtool } from '../../helpers/prometheus-server';
import { metricFamilyOf, parsePromql } from '../../helpers/promql';

const prometheusDir = dirname(DEPLOY.alerts);
const PLATFORM_METRICS = new Set<string>(Object.values(METRIC));

interface AlertTestFile {
  rule_files: string[];
  tests: {
    name: string;
    alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[];
  }[];
}

describe('Prometheus configuration and alert rules (promtool)', () => {
  beforeAll(() => {
    // No skipping: a machine without promtool fails here with the fix in the message.
    requireBinary('promtool');
  });

  it('names the fix when promtool is missing, instead of skipping', () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      expect(() => requireBinary('promtool')).toThrow(
        /promtool is not on PATH: install Debian's "prometheus" package/,
      );
    } finally {
      process.env.PATH = path;
    }
  });

  it('accepts prometheus.yml, including the rule file it names', async () => {
    const result = await runPromtool(['check', 'config', 'prometheus.yml'], prometheusDir);
    expect({ code: result.code, output: result.stdout + result.stderr }).toEqual({
      code: 0,
      output: expect.stringContaining('1 rule files found'),
    });
  });

  it('accepts alerts.yml', async () => {
    const result = await runPromtool(['check', 'rules', 'alerts.yml'], prometheusDir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`SUCCESS: ${readAlertRules().length} rules found`);
  });

  it('passes the unit tests of alerts.test.yml', async () => {
    const result = await runPromtool(['test', 'rules', 'alerts.test.yml'], prometheusDir);
    expect({ code: result.code, output: result.stdout + result.stderr }).toEqual({
      code: 0,
      output: expect.stringContaining('SUCCESS'),
    });
  });

  it('fails check rules on a broken expression, so a broken rule cannot pass unseen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eap-promtool-'));
    try {
      writeFileSync(
        join(dir, 'broken.yml'),
        'groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: sum(rate(http_requests_total[5m]) > \n',
      );
      const result = await runPromtool(['check', 'rules', 'broken.yml'], dir);
      expect(result.code).not.toBe(0);
      expect(result.stdout + result.stderr).toMatch(/parse error/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('alerts.yml', () => {
    const rules = readAlertRules();
    const tests = readYaml<AlertTestFile>(DEPLOY.alertTests);
    const runbooks = readText(DEPLOY.runbooks);

    it('holds the alerts of the original, corrected, and the new ones', () => {
      expect(rules.map((rule) => rule.alert).sort()).toEqual(
        [
          'AgentPlatformDown',
          'AgentRunsFailing',
          'AgentRunsInterrupted',
          'ClientsAbandoningRequests',
          'HighErrorRate',
          'HighLatency',
          'LLMProxyDown',
          'LLMRequestsFailing',
          'LLMTokensUnpriced',
          'MetricsLabelOverflow',
          'TenantRunsThrottled',
          'TokenBudgetExhausted',
          'TokenBudgetLow',
          'TokenBudgetOverrun',
          'ToolCallsRefused',
          'TraceSpansDropped',
        ].sort(),
      );
    });

    it.each(rules.map((rule) => [rule.alert, rule] as const))(
      '%s has a severity, a summary, a description and a runbook that exists in docs/runbooks.md',
      (_name, rule) => {
        expect(rule.labels?.severity).toMatch(/^(critical|warning)$/);
        expect(rule.annotations?.summary).toEqual(expect.any(String));
        expect(rule.annotations?.description).toEqual(expect.any(String));
        // The heading's anchor is its text in lower case.
        expect(rule.annotations?.runbook_url).toBe(`docs/runbooks.md#${rule.alert.toLowerCase()}`);
        expect(runbooks).toMatch(new RegExp(`^## ${rule.alert}$`, 'm'));
      },
    );

    it.each(rules.map((rule) => [rule.alert, rule] as const))(
      '%s parses offline, selects the platform job and uses only metrics the app exports',
      (_name, rule) => {
        const parsed = parsePromql(rule.expr);
        expect(parsed.errors).toEqual([]);
        for (const selector of parsed.selectors) {
          expect(selector).toContain(`job="${PROMETHEUS_JOB}"`);
        }
        for (const name of parsed.metricNames) {
          expect(name === 'up' || PLATFORM_METRICS.has(metricFamilyOf(name))).toBe(true);
        }
      },
    );

    it('aggregates across replicas where the original did not', () => {
      const byName = new Map(rules.map((rule) => [rule.alert, rule.expr.replace(/\s+/g, ' ')]));
      expect(byName.get('HighErrorRate')).toMatch(
        /^sum by \(namespace, job\) \(rate\(http_requests_total\{[^}]*status=~"5\.\."[^}]*\}\[5m\]\)\) \/ sum by \(namespace, job\) \(rate\(http_requests_total\{[^}]*\}\[5m\]\)\) > 0\.05/,
      );
      expect(byName.get('HighLatency')).toMatch(
        /^histogram_quantile\(0\.95, sum by \(namespace, job, le\) \(rate\(http_request_duration_seconds_bucket\{/,
      );
    });

    it('watches the LLM proxy through health_component_up, not the app scrape', () => {
      const proxy = rules.find((rule) => rule.alert === 'LLMProxyDown');
      expect(parsePromql(proxy?.expr ?? '').metricNames).toEqual(['health_component_up']);
      expect(proxy?.expr).toContain('component="llm_proxy"');
      const down = rules.find((rule) => rule.alert === 'AgentPlatformDown');
      // A failing scrape, and no target at all (scaled to 0, deleted, not selected).
      expect(down?.expr.replace(/\s+/g, ' ').trim()).toBe(
        `up{job="${PROMETHEUS_JOB}"} == 0 or absent(up{job="${PROMETHEUS_JOB}"})`,
      );
    });

    it('has a promtool test in which each alert fires and one in which it stays quiet', () => {
      expect(tests.rule_files).toEqual(['alerts.yml']);
      const cases = tests.tests.flatMap((test) => test.alert_rule_test ?? []);
      for (const rule of rules) {
        const ofRule = cases.filter((entry) => entry.alertname === rule.alert);
        expect({
          alert: rule.alert,
          fires: ofRule.some((entry) => entry.exp_alerts.length > 0),
        }).toEqual({
          alert: rule.alert,
          fires: true,
        });
        expect({
          alert: rule.alert,
          quiet: ofRule.some((entry) => entry.exp_alerts.length === 0),
        }).toEqual({
          alert: rule.alert,
          quiet: true,
        });
      }
    });
  });

  describe('prometheus.yml', () => {
    it("keeps the original's scrape job and loads the alert rules", () => {
      const config = readYaml<{
        rule_files: string[];
        scrape_configs: Record<string, Doc>[];
      }>(DEPLOY.prometheusConfig);
      expect(config.rule_files).toEqual(['alerts.yml']);
      expect(config.scrape_configs).toEqual([
        expect.objectContaining({
          job_name: PROMETHEUS_JOB,
          scrape_interval: '30s',
          metrics_path: '/metrics',
          static_configs: [{ targets: ['api:8000'] }],
        }),
      ]);
    });
  });
});
