import { ToolError } from '../tool.types';

/** Longer input is refused before parsing: a model has no reason to send a novel. */
export const MAX_EXPRESSION_LENGTH = 500;
/** Parentheses and unary signs nest at most this deep, so recursion stays far from the stack limit. */
export const MAX_NESTING_DEPTH = 50;

type Token =
  | { kind: 'number'; value: number; position: number }
  | { kind: 'operator'; value: '+' | '-' | '*' | '/' | '^'; position: number }
  | { kind: 'paren'; value: '(' | ')'; position: number };

// Decimals with an optional fraction or a leading point (".5"), and an optional exponent ("1e3", "2.5E-4").
const NUMBER = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let position = 0;
  while (position < expression.length) {
    const char = expression[position];
    if (/\s/.test(char)) {
      position++;
      continue;
    }
    NUMBER.lastIndex = position;
    const number = NUMBER.exec(expression);
    if (number) {
      tokens.push({ kind: 'number', value: Number(number[0]), position });
      position += number[0].length;
      continue;
    }
    if (char === '+' || char === '-' || char === '*' || char === '/' || char === '^') {
      tokens.push({ kind: 'operator', value: char, position });
    } else if (char === '(' || char === ')') {
      tokens.push({ kind: 'paren', value: char, position });
    } else {
      throw new ToolError(
        `Unexpected character "${char}" at position ${position + 1}: only numbers, + - * / ^ and parentheses are allowed`,
      );
    }
    position++;
  }
  return tokens;
}

/** Checked after every operation, so an overflow in the middle cannot turn into a wrong finite answer. */
function checked(value: number): number {
  if (Number.isNaN(value)) throw new ToolError('The result is not a real number');
  if (!Number.isFinite(value)) throw new ToolError('The result is too large to represent');
  return value;
}

/**
 * Recursive descent over
 *   expression := term (("+" | "-") term)*
 *   term       := unary (("*" | "/") unary)*
 *   unary      := ("+" | "-") unary | power
 *   power      := primary ("^" unary)?        right-associative; -2^2 = -(2^2)
 *   primary    := number | "(" expression ")"
 */
class Parser {
  private index = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): number {
    const value = this.expression();
    const extra = this.tokens[this.index];
    if (extra) {
      throw new ToolError(
        extra.kind === 'paren' && extra.value === ')'
          ? `Unmatched ")" at position ${extra.position + 1}`
          : `Unexpected "${String(extra.value)}" at position ${extra.position + 1}: missing operator?`,
      );
    }
    return value;
  }

  private expression(): number {
    let value = this.term();
    for (let token = this.peek(); this.isOperator(token, '+', '-'); token = this.peek()) {
      this.index++;
      const right = this.term();
      value = checked(token.value === '+' ? value + right : value - right);
    }
    return value;
  }

  private term(): number {
    let value = this.unary();
    for (let token = this.peek(); this.isOperator(token, '*', '/'); token = this.peek()) {
      this.index++;
      const right = this.unary();
      if (token.value === '/') {
        if (right === 0) throw new ToolError('Division by zero');
        value = checked(value / right);
      } else {
        value = checked(value * right);
      }
    }
    return value;
  }

  private unary(): number {
    const token = this.peek();
    if (this.isOperator(token, '+', '-')) {
      this.index++;
      const operand = this.nested(() => this.unary());
      return token.value === '-' ? -operand : operand;
    }
    return this.power();
  }

  private power(): number {
    const base = this.primary();
    if (this.isOperator(this.peek(), '^')) {
      this.index++;
      const exponent = this.nested(() => this.unary());
      return checked(base ** exponent);
    }
    return base;
  }

  private primary(): number {
    const token = this.tokens[this.index];
    if (!token)
      throw new ToolError('Incomplete expression: a number or "(" was expected at the end');
    if (token.kind === 'number') {
      this.index++;
      return checked(token.value);
    }
    if (token.kind === 'paren' && token.value === '(') {
      this.index++;
      const value = this.nested(() => this.expression());
      const closing = this.tokens[this.index];
      if (!closing || closing.kind !== 'paren' || closing.value !== ')') {
        throw new ToolError(`Unmatched "(" at position ${token.position + 1}`);
      }
      this.index++;
      return value;
    }
    throw new ToolError(
      `Unexpected "${token.value}" at position ${token.position + 1}: a number or "(" was expected`,
    );
  }

  private nested(parse: () => number): number {
    if (++this.depth > MAX_NESTING_DEPTH) {
      throw new ToolError(
        `Expression is nested too deeply (more than ${MAX_NESTING_DEPTH} levels)`,
      );
    }
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }

  private isOperator<const O extends string>(
    token: Token | undefined,
    ...operators: O[]
  ): token is Token & { kind: 'operator'; value: O } {
    return token?.kind === 'operator' && (operators as string[]).includes(token.value);
  }
}

/**
 * Evaluates an arithmetic expression: + - * / ^, unary signs, parentheses and
 * decimal numbers (`.5`, `1e3`). Never uses eval or Function; anything else
 * is a ToolError with a message meant for the model.
 */
export function evaluateArithmetic(expression: string): number {
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    throw new ToolError(`Expression is too long (at most ${MAX_EXPRESSION_LENGTH} characters)`);
  }
  const tokens = tokenize(expression);
  if (tokens.length === 0) throw new ToolError('Expression is empty');
  return new Parser(tokens).parse();
}

/** Shortest faithful text: 15 significant digits hide binary noise (0.1 + 0.2 gives 0.3), and no "-0". */
export function formatNumber(value: number): string {
  const rounded = Number(value.toPrecision(15));
  return String(Object.is(rounded, -0) ? 0 : rounded);
}
