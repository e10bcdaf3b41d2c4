import { parser } from '@prometheus-io/lezer-promql';

/**
 * A test-only transform of Prometheus rule files: every duration that sets
 * how long a rule looks back or waits (range windows `[5m]`, `offset`s,
 * subquery ranges and steps, `for:` and `keep_firing_for:`) is divided by the
 * same factor, so an alert that needs ten minutes in production needs ten
 * seconds in a test. Ratios of rates do not depend on the window's length,
 * and a `for:` shrinks with the windows it waits on, so what fires and what
 * resolves stays the same. What cannot be scaled without changing a rule's
 * meaning is refused with an error rather than passed through.
 */

/** Milliseconds per unit of a Prometheus duration, largest first (the order a duration is written in). */
const UNIT_MS: readonly (readonly [string, number])[] = [
  ['y', 365 * 24 * 3_600_000],
  ['w', 7 * 24 * 3_600_000],
  ['d', 24 * 3_600_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];

const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/**
 * Functions whose numbers mean seconds outside the duration syntax
 * (`timestamp(v) < 100`, `predict_linear(v[1h], 3600)`): the transform cannot
 * tell those numbers from thresholds, so it refuses rather than change the
 * rule's meaning silently. One shape is understood: an age compared with a
 * number, `time() - <expr> < 300`, where the number is seconds of age and is
 * divided like a window.
 */
const SECONDS_IN_VALUES = new Set(['time', 'timestamp', 'predict_linear']);

/** A Prometheus duration (`1h30m`, `500ms`, or a number of seconds) in milliseconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const match = DURATION.exec(trimmed);
  if (!match || trimmed === '') throw new Error(`not a Prometheus duration: "${text}"`);
  return UNIT_MS.reduce((total, [, ms], i) => total + Number(match[i + 1] ?? 0) * ms, 0);
}

/** Milliseconds as Prometheus writes a duration: `1h30m`, `5s`, `500ms`. */
export function formatDuration(ms: number): string {
  if (!Number.isInteger(ms) || ms <= 0) throw new Error(`cannot write ${ms} ms as a duration`);
  let rest = ms;
  let text = '';
  // Years are left out: 365 days is not what a reader expects `y` to scale to.
  for (const [unit, size] of UNIT_MS.slice(1)) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text;
}

/** `text` divided by `factor`; throws when the result is not a whole number of milliseconds. */
export function scaleDuration(text: string, factor: number): string {
  if (!(Number.isFinite(factor) && factor > 0)) throw new Error(`bad scale factor ${factor}`);
  const ms = parseDuration(text) / factor;
  if (!Number.isInteger(ms) || ms < 1) {
    throw new Error(
      `${text} / ${factor} is ${ms} ms: not a whole number of milliseconds; pick a factor that divides it`,
    );
  }
  return formatDuration(ms);
}

/** Where a duration literal sits in an expression, and its text. */
export interface DurationLiteral {
  readonly from: number;
  readonly to: number;
  readonly text: string;
  /** A number of seconds outside the duration syntax (an age threshold): written back as a number. */
  readonly seconds?: boolean;
}

const COMPARISONS = new Set(['Lss', 'Gtr', 'Lte', 'Gte']);

function childrenOf(node: SyntaxNode): SyntaxNode[] {
  const children: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) children.push(child);
  return children;
}

/** `time() - <expr> <op> <number>`: the time() call and the number of seconds, else undefined. */
function ageComparison(
  expr: string,
  node: SyntaxNode,
): { timeCall: SyntaxNode; threshold: SyntaxNode } | undefined {
  const children = childrenOf(node).filter((child) => child.name !== 'BoolModifier');
  if (children.length !== 3) return undefined;
  const [left, operator, right] = children;
  if (!COMPARISONS.has(operator.name) || right.name !== 'NumberDurationLiteral') return undefined;
  if (left.name !== 'BinaryExpr') return undefined;
  const [timeCall, minus] = childrenOf(left);
  if (timeCall?.name !== 'FunctionCall' || minus?.name !== 'Sub') return undefined;
  const identifier = timeCall.getChild('FunctionIdentifier');
  if (!identifier || expr.slice(identifier.from, identifier.to) !== 'time') return undefined;
  return { timeCall, threshold: right };
}

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

function errorNear(source: string, from: number, to: number): string {
  return `"${source.slice(Math.max(0, from - 20), to + 20)}"`;
}

/**
 * The duration literals of range selectors, offsets and subqueries, in source
 * order. Throws on a syntax error, on arithmetic inside a duration
 * (`[5m * 2]`: the 2 is a multiplier, not seconds), on `@` timestamps, and on
 * the functions of SECONDS_IN_VALUES.
 */
export function durationLiterals(expr: string): DurationLiteral[] {
  const tree = parser.parse(expr);
  const found: DurationLiteral[] = [];
  // time() calls whose seconds are understood: the left side of an age comparison.
  const ageTimeCalls = new Set<number>();
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) {
        throw new Error(`PromQL syntax error near ${errorNear(expr, ref.from, ref.to)}`);
      }
      if (ref.name === 'BinaryExpr') {
        const age = ageComparison(expr, ref.node);
        if (age) {
          ageTimeCalls.add(age.timeCall.from);
          const { from, to } = age.threshold;
          found.push({ from, to, text: expr.slice(from, to), seconds: true });
        }
      }
      if (ref.name === 'FunctionCall' && !ageTimeCalls.has(ref.from)) {
        const identifier = ref.node.getChild('FunctionIdentifier');
        const name = identifier ? expr.slice(identifier.from, identifier.to) : '';
        if (SECONDS_IN_VALUES.has(name)) {
          throw new Error(
            `${name}() works in seconds outside the duration syntax, which the scale transform cannot rewrite: ${errorNear(expr, ref.from, ref.to)}`,
          );
        }
      }
      if (ref.name === 'At') {
        throw new Error(
          `an @ timestamp is absolute and cannot be scaled: ${errorNear(expr, ref.from, ref.to)}`,
        );
      }
      if (ref.name === 'DurationExpr' || ref.name === 'OffsetDurationExpr') {
        const literals = literalsOf(ref.node);
        const only = literals[0];
        // A sign may stand before an offset (`offset -5m`); it stays as it is.
        const before = only ? expr.slice(ref.from, only.from) : '';
        if (literals.length !== 1 || !only || !/^[-+]?\s*$/.test(before) || only.to !== ref.to) {
          throw new Error(
            `only plain durations can be scaled, not duration arithmetic: ${errorNear(expr, ref.from, ref.to)}`,
          );
        }
        found.push({ from: only.from, to: only.to, text: expr.slice(only.from, only.to) });
        return false;
      }
      return undefined;
    },
  });
  return found;
}

function literalsOf(node: SyntaxNode): SyntaxNode[] {
  if (node.name === 'NumberDurationLiteralInDurationContext') return [node];
  const literals: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) {
    literals.push(...literalsOf(child));
  }
  return literals;
}

/** The expression with every duration of durationLiterals() divided by `factor`; the rest of the text unchanged. */
export function scaleExpression(expr: string, factor: number): string {
  let scaled = '';
  let at = 0;
  const literals = [...durationLiterals(expr)].sort((a, b) => a.from - b.from);
  for (const literal of literals) {
    const text = scaleDuration(literal.text, factor);
    scaled +=
      expr.slice(at, literal.from) + (literal.seconds ? String(parseDuration(text) / 1000) : text);
    at = literal.to;
  }
  return scaled + expr.slice(at);
}

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  [field: string]: unknown;
}

export interface RuleFile {
  groups: { name: string; interval?: string; rules: Rule[]; [field: string]: unknown }[];
}

/**
 * A copy of a rule file with every expression's durations, every `for:` and
 * `keep_firing_for:`, and every group `interval:` divided by `factor`.
 * Labels, annotations and names are kept as they are.
 */
export function scaleRuleFile(file: RuleFile, factor: number): RuleFile {
  return {
    ...file,
    groups: file.groups.map((group) => ({
      ...group,
      ...(group.interval ? { interval: scaleDuration(group.interval, factor) } : {}),
      rules: group.rules.map((rule) => {
        const name = rule.alert ?? rule.record ?? '(unnamed rule)';
        try {
          return {
            ...rule,
            expr: scaleExpression(rule.expr, factor),
            ...(rule.for ? { for: scaleDuration(rule.for, factor) } : {}),
            ...(rule.keep_firing_for
              ? { keep_firing_for: scaleDuration(rule.keep_firing_for, factor) }
              : {}),
          };
        } catch (error) {
          throw new Error(`rule ${name}: ${(error as Error).message}`);
        }
      }),
    })),
  };
}
