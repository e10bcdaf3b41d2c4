import { ToolError } from '../tool.types';
import {
  evaluateArithmetic,
  formatNumber,
  MAX_EXPRESSION_LENGTH,
  MAX_NESTING_DEPTH,
} from './arithmetic';

function errorOf(expression: string): ToolError {
  try {
    evaluateArithmetic(expression);
  } catch (error) {
    if (error instanceof ToolError) return error;
    throw error;
  }
  throw new Error(`expected "${expression}" to be rejected`);
}

describe(evaluateArithmetic.name, () => {
  it.each([
    ['1+2', 3],
    ['7-10', -3],
    ['6*7', 42],
    ['7/2', 3.5],
    ['2^10', 1024],
    ['(2+3)*4', 20],
    ['2+3*4', 14],
    ['10-4-3', 3],
    ['100/10/5', 2],
    ['2*3+4*5', 26],
    ['2^3^2', 512],
    ['(2^3)^2', 64],
    ['-2^2', -4],
    ['(-2)^2', 4],
    ['2^-1', 0.5],
    ['2^-2^2', 0.0625],
    ['-3', -3],
    ['+3', 3],
    ['--3', 3],
    ['-(2+3)', -5],
    ['3*-2', -6],
    ['3--2', 5],
    ['.5+.25', 0.75],
    ['1.5*2', 3],
    ['5.', 5],
    ['1e3', 1000],
    ['2.5E-3*1000', 2.5],
    ['1e+2', 100],
    ['  ( 1 + 2 )  *  3  ', 9],
    ['((((1))))', 1],
    ['0.1+0.2', 0.30000000000000004],
    ['8^(1/3)', 2],
    ['0/5', 0],
    ['4^0.5', 2],
  ])('evaluates %s to %d', (expression, expected) => {
    expect(evaluateArithmetic(expression)).toBeCloseTo(expected, 12);
  });

  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['process.exit()', 'Unexpected character "p" at position 1'],
    ['2+a', 'Unexpected character "a" at position 3'],
    ['Math.PI', 'Unexpected character "M"'],
    ['constructor', 'Unexpected character'],
    ['2;3', 'Unexpected character ";"'],
    ['1,000', 'Unexpected character ","'],
    ['2 % 3', 'Unexpected character "%"'],
    ['2**3', 'Unexpected "*" at position 3'],
    ['2+', 'Incomplete expression'],
    ['*2', 'Unexpected "*" at position 1'],
    ['(1+2', 'Unmatched "(" at position 1'],
    ['1+2)', 'Unmatched ")" at position 4'],
    ['()', 'Unexpected ")"'],
    ['2(3)', 'missing operator'],
    ['2 3', 'missing operator'],
    ['1..2', 'missing operator'],
    ['1/0', 'Division by zero'],
    ['5/(2-2)', 'Division by zero'],
    ['0/0', 'Division by zero'],
    ['10^400', 'too large'],
    ['1e999', 'too large'],
    ['1/(10^400)', 'too large'],
    ['(-8)^(1/3)', 'not a real number'],
  ])('rejects %j with a clear ToolError (%s)', (expression, message) => {
    expect(errorOf(expression).message).toContain(message);
  });

  it('rejects expressions longer than the limit before parsing', () => {
    const long = `1${'+1'.repeat(MAX_EXPRESSION_LENGTH)}`;
    expect(errorOf(long).message).toContain(`at most ${MAX_EXPRESSION_LENGTH} characters`);
    expect(evaluateArithmetic(`1${'+1'.repeat(Math.floor((MAX_EXPRESSION_LENGTH - 1) / 2))}`)).toBe(
      250,
    );
  });

  it('rejects nesting deeper than the limit, and accepts it at the limit', () => {
    const nested = (depth: number): string => `${'('.repeat(depth)}1${')'.repeat(depth)}`;
    expect(evaluateArithmetic(nested(MAX_NESTING_DEPTH))).toBe(1);
    expect(errorOf(nested(MAX_NESTING_DEPTH + 1)).message).toContain('nested too deeply');
    expect(errorOf(`${'-'.repeat(MAX_NESTING_DEPTH + 1)}1`).message).toContain('nested too deeply');
  });

  it('never reaches JavaScript evaluation', () => {
    const evalSpy = jest.spyOn(globalThis, 'eval');
    expect(() => evaluateArithmetic('globalThis.x=1')).toThrow(ToolError);
    expect(evalSpy).not.toHaveBeenCalled();
  });
});

describe(formatNumber.name, () => {
  it.each([
    [0.1 + 0.2, '0.3'],
    [42, '42'],
    [-0, '0'],
    [1 / 3, '0.333333333333333'],
    [1e21, '1e+21'],
    [2.5e-7, '2.5e-7'],
  ])('formats %d as %s', (value, text) => {
    expect(formatNumber(value)).toBe(text);
  });
});
