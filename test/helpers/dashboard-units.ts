import { parser } from '@prometheus-io/lezer-promql';
import { substituteGrafanaVariables } from './promql';

/**
 * Grafana's per-second units (its "Throughput" and "Data rate" categories):
 * what a panel of rate() or irate() values should show. `short` prints the
 * bare number, which for 0.2 calls a second reads as if it were 0.2 calls.
 */
export const PER_SECOND_UNITS = new Set([
  'ops',
  'reqps',
  'rps',
  'wps',
  'iops',
  'eps',
  'mps',
  'recps',
  'rowsps',
  'cps',
  'Bps',
  'binBps',
  'bps',
  'binbps',
]);

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** Functions whose result is a per-second value of their range argument. */
const PER_SECOND_FUNCTIONS = new Set(['rate', 'irate', 'deriv']);
/** Functions that keep their first argument's unit. */
const UNIT_PRESERVING_FUNCTIONS = new Set([
  'abs',
  'ceil',
  'floor',
  'round',
  'clamp',
  'clamp_min',
  'clamp_max',
  'sort',
  'sort_desc',
  'label_replace',
  'label_join',
]);
/** Aggregations whose result has the unit of what they aggregate (count, group and count_values do not). */
const UNIT_PRESERVING_AGGREGATIONS = new Set([
  'sum',
  'avg',
  'min',
  'max',
  'topk',
  'bottomk',
  'quantile',
  'limitk',
]);
const SET_OPERATORS = new Set(['And', 'Or', 'Unless']);
const COMPARISONS = new Set(['Eql', 'Neq', 'Gtr', 'Lss', 'Gte', 'Lte']);

function expressionChildren(node: SyntaxNode): SyntaxNode[] {
  const children: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) {
    if (child.type.isError) throw new Error('PromQL syntax error');
    children.push(child);
  }
  return children;
}

/** The value arguments of a FunctionCallBody, in order. */
function argumentsOf(body: SyntaxNode | null): SyntaxNode[] {
  return body ? expressionChildren(body).filter((child) => !/^[(),]$/.test(child.name)) : [];
}

function perSecond(node: SyntaxNode, source: string): boolean {
  switch (node.name) {
    case 'PromQL':
    case 'ParenExpr':
      return expressionChildren(node).some((child) => perSecond(child, source));
    case 'FunctionCall': {
      const identifier = node.getChild('FunctionIdentifier');
      const name = identifier ? source.slice(identifier.from, identifier.to) : '';
      const args = argumentsOf(node.getChild('FunctionCallBody'));
      if (PER_SECOND_FUNCTIONS.has(name)) return true;
      if (UNIT_PRESERVING_FUNCTIONS.has(name) && args[0]) return perSecond(args[0], source);
      return false;
    }
    case 'AggregateExpr': {
      const op = node.getChild('AggregateOp');
      const name = op ? source.slice(op.from, op.to) : '';
      // topk(3, x), quantile(0.9, x): the value is the last argument.
      const value = argumentsOf(node.getChild('FunctionCallBody')).at(-1);
      return UNIT_PRESERVING_AGGREGATIONS.has(name) && value !== undefined
        ? perSecond(value, source)
        : false;
    }
    case 'BinaryExpr': {
      const parts = expressionChildren(node);
      const left = parts[0];
      const right = parts[parts.length - 1];
      const operator = parts.find(
        (part) =>
          SET_OPERATORS.has(part.name) ||
          COMPARISONS.has(part.name) ||
          /^(Add|Sub|Mul|Div|Mod|Pow|Atan2)$/.test(part.name),
      );
      if (!left || !right || !operator) return false;
      // `rate(x) or vector(0)`: a fill keeps the unit of the rate.
      if (operator.name === 'Or') return perSecond(left, source) || perSecond(right, source);
      // Filters (`and`, `unless`, `> 0`) keep the left side's values.
      if (SET_OPERATORS.has(operator.name) || COMPARISONS.has(operator.name)) {
        return perSecond(left, source);
      }
      // A sum or difference of two rates is a rate; `* 3600` makes it per hour, `/` of two rates a ratio.
      if (operator.name === 'Add' || operator.name === 'Sub') {
        return perSecond(left, source) && perSecond(right, source);
      }
      return false;
    }
    default:
      return false;
  }
}

/**
 * Whether a dashboard query's values are per second: a rate() or irate()
 * (through aggregations, fills and filters), and not scaled (`* 3600`),
 * divided into a ratio, or turned into a quantile. Grafana variables are
 * substituted first. Throws on a syntax error.
 */
export function isPerSecondQuery(expr: string): boolean {
  const source = substituteGrafanaVariables(expr, { tenant_id: '.+' });
  const tree = parser.parse(source);
  let broken = false;
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) broken = true;
    },
  });
  if (broken) throw new Error(`PromQL syntax error in: ${expr}`);
  return perSecond(tree.topNode, source);
}
