import { parser } from '@prometheus-io/lezer-promql';

/** What the offline PromQL parser (Prometheus' own lezer grammar) finds in an expression. */
export interface ParsedPromql {
  /** Text around each syntax error; empty when the expression parses. */
  readonly errors: string[];
  /** Metric names of every vector selector (`foo{...}` or `{__name__="foo"}`). */
  readonly metricNames: string[];
  /** Source text of every vector selector, without range or offset. */
  readonly selectors: string[];
  /**
   * Left-hand sides of comparisons against a number (`expr > 0.05`): the
   * signal an alert thresholds, which should hold data whenever its inputs do.
   */
  readonly thresholdedSignals: string[];
}

/** The grammar's node type, taken from the parser (its own @lezer/common copy). */
type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

const COMPARISONS = new Set(['Gtr', 'Lss', 'Gte', 'Lte', 'Eql', 'Neq']);

function childrenOf(node: SyntaxNode): SyntaxNode[] {
  const children: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) children.push(child);
  return children;
}

function unquote(literal: string): string {
  return literal.slice(1, -1).replace(/\\(.)/g, '$1');
}

function metricNameOf(selector: SyntaxNode, source: string): string | undefined {
  const identifier = selector.getChild('Identifier');
  if (identifier) return source.slice(identifier.from, identifier.to);
  const matchers = selector.getChild('LabelMatchers');
  for (const matcher of matchers ? childrenOf(matchers) : []) {
    const label = matcher.getChild('LabelName');
    const value = matcher.getChild('StringLiteral');
    const op = matcher.getChild('MatchOp');
    if (
      label &&
      value &&
      op?.getChild('EqlSingle') &&
      source.slice(label.from, label.to) === '__name__'
    ) {
      return unquote(source.slice(value.from, value.to));
    }
  }
  return undefined;
}

/** Parses PromQL offline; never throws (errors come back in `errors`). */
export function parsePromql(source: string): ParsedPromql {
  const tree = parser.parse(source);
  const errors: string[] = [];
  const metricNames = new Set<string>();
  const selectors: string[] = [];
  const thresholdedSignals: string[] = [];
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) {
        errors.push(`at ${ref.from}: "${source.slice(Math.max(0, ref.from - 20), ref.to + 20)}"`);
        return;
      }
      if (ref.name === 'VectorSelector') {
        selectors.push(source.slice(ref.from, ref.to));
        const name = metricNameOf(ref.node, source);
        if (name) metricNames.add(name);
      }
      if (ref.name === 'BinaryExpr') {
        const parts = childrenOf(ref.node);
        const operator = parts.find((part) => COMPARISONS.has(part.name));
        const hasBool = parts.some((part) => part.name === 'BoolModifier');
        const right = parts[parts.length - 1];
        if (operator && !hasBool && right?.name === 'NumberDurationLiteral') {
          const left = parts[0];
          if (left) thresholdedSignals.push(source.slice(left.from, left.to).trim());
        }
      }
    },
  });
  return { errors, metricNames: [...metricNames], selectors, thresholdedSignals };
}

/** Values for the Grafana template variables a dashboard query may hold. */
export interface GrafanaVariableValues {
  /** Regex-ready value for multi-select variables, e.g. `.+` (All) or `(a|b)`. */
  readonly [name: string]: string;
}

/**
 * Replaces Grafana variables the way Grafana does before a query reaches
 * Prometheus: `$name`, `${name}` and `[[name]]`, plus the built-in intervals.
 * Throws on a variable it has no value for, so a new one cannot slip through.
 */
export function substituteGrafanaVariables(
  expr: string,
  values: GrafanaVariableValues,
  builtIns: { rateInterval: string; interval: string; range: string } = {
    rateInterval: '1m',
    interval: '15s',
    range: '5m',
  },
): string {
  const all: Record<string, string> = {
    __rate_interval: builtIns.rateInterval,
    __interval: builtIns.interval,
    __range: builtIns.range,
    ...values,
  };
  return expr.replace(
    /\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g,
    (match, braced?: string, bracketed?: string, bare?: string) => {
      const name = braced ?? bracketed ?? bare ?? '';
      const value = all[name];
      if (value === undefined)
        throw new Error(`no value for Grafana variable ${match} in: ${expr}`);
      return value;
    },
  );
}

/** The Grafana regex value of a multi-select variable for the given selection. */
export function multiValueRegex(values: readonly string[]): string {
  const escaped = values.map((value) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&'));
  return escaped.length === 1 ? (escaped[0] ?? '') : `(${escaped.join('|')})`;
}

/** `foo_bucket` → `foo`: the family a histogram or summary series belongs to. */
export function metricFamilyOf(seriesName: string): string {
  return seriesName.replace(/_(bucket|count|sum)$/, '');
}

/** Metric names of a Prometheus text exposition (series names, suffixes kept). */
export function seriesNamesOfExposition(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (match?.[1]) names.add(match[1]);
  }
  return names;
}
