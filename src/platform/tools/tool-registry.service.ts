import { Injectable, Logger } from '@nestjs/common';
import { MetricsService } from '../../observability/metrics';
import type { ToolSchema } from '../llm/llm.types';
import { CalculatorTool } from './calculator/calculator.tool';
import { CurrentTimeTool } from './current-time/current-time.tool';
import { KbSearchTool } from './kb-search/kb-search.tool';
import { AgentTool, ToolContext, ToolError, ToolExecutionResult } from './tool.types';

// A model may invent tool names: they share one metric label instead of minting new series.
const UNKNOWN_TOOL_LABEL = '_unknown';
const MAX_SHOWN_NAME_LENGTH = 64;

/**
 * The tools agents may use, by name. execute() is the one way the agent loop
 * runs a tool: it parses the model's JSON arguments, times the call, records
 * tool_calls_total / tool_duration_seconds and one log line, and turns every
 * failure into an `Error: ...` result for the model instead of throwing.
 */
@Injectable()
export class ToolRegistry {
  private readonly logger = new Logger(ToolRegistry.name);
  private readonly tools: ReadonlyMap<string, AgentTool>;

  constructor(
    private readonly metrics: MetricsService,
    calculator: CalculatorTool,
    currentTime: CurrentTimeTool,
    kbSearch: KbSearchTool,
  ) {
    this.tools = new Map<string, AgentTool>(
      [calculator, currentTime, kbSearch].map((tool) => [tool.name, tool]),
    );
  }

  get(name: string): AgentTool | undefined {
    return this.tools.get(name);
  }

  names(): string[] {
    return [...this.tools.keys()];
  }

  /**
   * The OpenAI `tools` entries for the given names, in their order.
   * @throws Error for a name that is not registered (agents are validated against TOOL_NAMES on creation)
   */
  schemasFor(names: readonly string[]): ToolSchema[] {
    return names.map((name) => {
      const tool = this.tools.get(name);
      if (!tool) throw new Error(`Unknown tool: ${name}`);
      return {
        type: 'function',
        function: { name: tool.name, description: tool.description, parameters: tool.parameters },
      };
    });
  }

  /** Never throws: bad JSON, a ToolError or any other failure becomes `{ result: 'Error: ...', success: false }`. */
  async execute(
    name: string,
    rawArguments: string,
    context: ToolContext,
  ): Promise<ToolExecutionResult> {
    const started = performance.now();
    const tool = this.tools.get(name);
    let outcome: ToolExecutionResult & { errorType?: string };
    if (!tool) {
      outcome = {
        result: `Error: unknown tool "${truncate(name)}"; available tools: ${this.names().join(', ')}`,
        success: false,
        errorType: 'unknown_tool',
      };
    } else {
      outcome = await this.run(tool, rawArguments, context);
    }
    const durationMs = performance.now() - started;
    const toolName = tool ? tool.name : UNKNOWN_TOOL_LABEL;
    this.metrics.recordToolCall({
      toolName,
      success: outcome.success,
      durationSeconds: durationMs / 1000,
    });
    const fields = {
      tool_name: toolName,
      success: outcome.success,
      duration_ms: Math.round(durationMs * 100) / 100,
      tool_call_id: context.callId,
    };
    if (outcome.success) {
      this.logger.log({ event: 'tool.execute.completed', ...fields }, 'Tool call completed');
    } else {
      this.logger.warn(
        { event: 'tool.execute.failed', ...fields, error_type: outcome.errorType },
        'Tool call failed',
      );
    }
    return { result: outcome.result, success: outcome.success };
  }

  private async run(
    tool: AgentTool,
    rawArguments: string,
    context: ToolContext,
  ): Promise<ToolExecutionResult & { errorType?: string }> {
    let args: Record<string, unknown>;
    try {
      args = parseArguments(rawArguments);
    } catch (error) {
      return {
        result: `Error: ${(error as Error).message}`,
        success: false,
        errorType: 'invalid_arguments',
      };
    }
    try {
      return { result: await tool.execute(args, context), success: true };
    } catch (error) {
      if (error instanceof ToolError) {
        return { result: `Error: ${error.message}`, success: false, errorType: 'tool_error' };
      }
      // Internal failures (a database error...) can carry details the model and the user must not see.
      this.logger.error(
        {
          event: 'tool.execute.crashed',
          tool_name: tool.name,
          tool_call_id: context.callId,
          err: error,
        },
        'Tool crashed',
      );
      return {
        result: `Error: the ${tool.name} tool failed unexpectedly; try again later`,
        success: false,
        errorType: error instanceof Error ? error.name : 'unknown',
      };
    }
  }
}

function parseArguments(raw: string): Record<string, unknown> {
  // Some models send "" for a tool without arguments.
  if (raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ToolError('the arguments are not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ToolError('the arguments must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function truncate(text: string): string {
  return text.length > MAX_SHOWN_NAME_LENGTH ? `${text.slice(0, MAX_SHOWN_NAME_LENGTH)}...` : text;
}
