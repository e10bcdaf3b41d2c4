import { Injectable } from '@nestjs/common';
import { TraceTool } from '../../../observability/observers';
import { TOOL_CALL, ToolError } from '../tool.types';
import type { AgentTool, ToolContext } from '../tool.types';
import { evaluateArithmetic, formatNumber, MAX_EXPRESSION_LENGTH } from './arithmetic';

@Injectable()
export class CalculatorTool implements AgentTool {
  readonly name = 'calculator';
  readonly description =
    'Evaluates an arithmetic expression exactly. Supports + - * / ^ (power), unary minus, ' +
    'parentheses and decimal numbers such as 2.5, .5 or 1e3. Example: (2+3)*4';
  readonly parameters = {
    type: 'object',
    properties: {
      expression: {
        type: 'string',
        description: 'The arithmetic expression, e.g. "(2+3)*4" or "2^10 / 4"',
        maxLength: MAX_EXPRESSION_LENGTH,
      },
    },
    required: ['expression'],
    additionalProperties: false,
  };

  @TraceTool(TOOL_CALL)
  execute(args: Record<string, unknown>, _context: ToolContext): Promise<string> {
    // Synchronous work; the executor turns a thrown ToolError into a rejection.
    return new Promise((resolve) => {
      const { expression } = args;
      if (typeof expression !== 'string') {
        throw new ToolError('"expression" must be a string, e.g. "(2+3)*4"');
      }
      resolve(formatNumber(evaluateArithmetic(expression)));
    });
  }
}
