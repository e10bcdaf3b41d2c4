import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import {
  durationLiterals,
  formatDuration,
  parseDuration,
  RuleFile,
  scaleDuration,
  scaleExpression,
  scaleRuleFile,
} from '../../helpers/alert-rules-scale';
import { DEPLOY, readYaml } from '../../helpers/deploy-artefacts';
import { runPromtool } from '../../helpers/prometheus-server';
import { parsePromql } from '../../helpers/promql';

// The factor the end-to-end alert test uses.
const FACTOR = 60;

describe(scaleRuleFile.name, () => {
  describe('durations', () => {
    it.each([
      ['5m', 300_000],
      ['1h30m', 5_400_000],
      ['500ms', 500],
      ['2d', 172_800_000],
      ['300', 300_000],
      ['1.5', 1500],
    ])('reads %s as %d ms', (text, ms) => {
      expect(parseDuration(text)).toBe(ms);
    });

    it.each(['', '5 m', 'm', '5min', '1m1h'])('refuses %j', (text) => {
      expect(() => parseDuration(text)).toThrow(/not a Prometheus duration/);
    });

    it.each([
      ['5m', '5s'],
      ['15m', '15s'],
      ['10m', '10s'],
      ['2m', '2s'],
      ['1h', '1m'],
      ['1h30m', '1m30s'],
      ['30s', '500ms'],
      ['1d', '24m'],
    ])('divides %s by 60 into %s', (text, scaled) => {
      expect(scaleDuration(text, FACTOR)).toBe(scaled);
    });

    it('refuses a result that is not a whole number of milliseconds', () => {
      expect(() => scaleDuration('1s', 7)).toThrow(/not a whole number of milliseconds/);
      expect(() => scaleDuration('10ms', 60)).toThrow(/not a whole number of milliseconds/);
    });

    it('writes durations with the largest units first, as Prometheus does', () => {
      expect(formatDuration(90_061_001)).toBe('1d1h1m1s1ms');
      expect(() => formatDuration(0)).toThrow();
    });
  });

  describe('expressions', () => {
    it.each([
      ['sum(rate(x[5m])) / sum(rate(y[5m])) > 0.05', 'sum(rate(x[5s])) / sum(rate(y[5s])) > 0.05'],
      ['increase(x[15m]) > 0', 'increase(x[15s]) > 0'],
      ['rate(x[5m] offset 1h)', 'rate(x[5s] offset 1m)'],
      ['x offset -10m', 'x offset -10s'],
      ['max_over_time(rate(x[1m])[30m:1m])', 'max_over_time(rate(x[1s])[30s:1s])'],
      ['min_over_time(x[30m:])', 'min_over_time(x[30s:])'],
    ])('%s → %s', (expr, scaled) => {
      expect(scaleExpression(expr, FACTOR)).toBe(scaled);
    });

    it('leaves thresholds, label values and whitespace alone', () => {
      const expr = 'sum by (le) (\n  rate(x{le="5m",window="[5m]"}[5m])\n) > 300';
      expect(scaleExpression(expr, FACTOR)).toBe(
        'sum by (le) (\n  rate(x{le="5m",window="[5m]"}[5s])\n) > 300',
      );
    });

    it.each([
      [
        'time() - max by (tenant_id) (last_refused_timestamp_seconds) < 300',
        'time() - max by (tenant_id) (last_refused_timestamp_seconds) < 5',
      ],
      ['time() - x{a="b"} >= 600', 'time() - x{a="b"} >= 10'],
      ['(time() - x < bool 120) and rate(y[5m]) > 0', '(time() - x < bool 2) and rate(y[5s]) > 0'],
    ])('divides the seconds of an age threshold like a window: %s', (expr, expected) => {
      expect(scaleExpression(expr, FACTOR)).toBe(expected);
    });

    it.each([
      ['time() > 1700000000', /time\(\) works in seconds/],
      ['x - time() < 300', /time\(\) works in seconds/],
      ['time() - x > y', /time\(\) works in seconds/],
      ['timestamp(x) < 100', /timestamp\(\) works in seconds/],
      ['predict_linear(x[1h], 3600) < 0', /predict_linear\(\) works in seconds/],
      ['rate(x[5m * 2])', /not duration arithmetic/],
      ['x @ 1700000000', /@ timestamp is absolute/],
      ['sum(rate(x[5m])', /syntax error/],
    ])('refuses %s rather than change its meaning', (expr, message) => {
      expect(() => scaleExpression(expr, FACTOR)).toThrow(message);
    });
  });

  describe('on deploy/prometheus/alerts.yml', () => {
    const original = readYaml<RuleFile>(DEPLOY.alerts);
    const scaled = scaleRuleFile(original, FACTOR);
    const pairs = original.groups.flatMap((group, g) =>
      group.rules.map((rule, r) => [rule.alert ?? '', rule, scaled.groups[g].rules[r]] as const),
    );

    it.each(pairs)(
      '%s still parses, with every window, offset and for: divided by 60',
      (_name, before, after) => {
        expect(parsePromql(after.expr).errors).toEqual([]);
        const windows = durationLiterals(before.expr);
        expect(durationLiterals(after.expr).map((literal) => parseDuration(literal.text))).toEqual(
          windows.map((literal) => parseDuration(literal.text) / FACTOR),
        );
        // Counted without the transform's own parser: every `[...]` of the rule was rewritten.
        expect(windows.filter((literal) => !literal.seconds).length).toBe(
          (before.expr.match(/\[/g) ?? []).length,
        );
        if (before.for) expect(parseDuration(after.for!) * FACTOR).toBe(parseDuration(before.for));
        else expect(after.for).toBeUndefined();
        // Nothing else changes: name, labels, annotations, and the expression around the durations.
        const masked = (expr: string) =>
          durationLiterals(expr)
            .sort((a, b) => b.from - a.from)
            .reduce(
              (text, literal) => `${text.slice(0, literal.from)}_${text.slice(literal.to)}`,
              expr,
            );
        expect(masked(after.expr)).toBe(masked(before.expr));
        expect({ ...after, expr: '', for: '' }).toEqual({ ...before, expr: '', for: '' });
      },
    );

    it('finds a window in every rule that calls a range function (so the checks above are not vacuous)', () => {
      const ranged = pairs.filter(([, before]) =>
        /\b(i?rate|increase|\w+_over_time)\(/.test(before.expr),
      );
      expect(ranged.length).toBeGreaterThan(0);
      for (const [name, before] of ranged) {
        expect({ name, windows: durationLiterals(before.expr).length > 0 }).toEqual({
          name,
          windows: true,
        });
      }
    });

    it("passes promtool's own parser (check rules)", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'eap-scaled-rules-'));
      try {
        writeFileSync(join(dir, 'alerts.yml'), toYaml(scaled));
        const result = await runPromtool(['check', 'rules', 'alerts.yml'], dir);
        expect({ code: result.code, output: result.stdout + result.stderr }).toEqual({
          code: 0,
          output: expect.stringContaining(`SUCCESS: ${pairs.length} rules found`),
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('leaves the source file as it was (it works on a copy)', () => {
      expect(original).toEqual(readYaml<RuleFile>(DEPLOY.alerts));
    });
  });
});
