import { Injectable } from '@nestjs/common';
import { ToolCallObserver } from '../../observability/observers';
import type { ToolSchema } from '../llm';
import { CalculatorTool } from './calculator/calculator.tool';
import { CurrentTimeTool } from './current-time/current-time.tool';
import { KbSearchTool } from './kb-search/kb-search.tool';
import { AgentTool, ToolContext, ToolError, ToolExecutionResult } from './tool.types';

// A model may invent tool names: they share one metric label instead of minting new series.
const UNKNOWN_TOOL_LABEL = '_unknown';
const MAX_SHOWN_NAME_LENGTH = 64;

/**
 * The tools agents may use, by name. execute() is the one way the agent loop
 * runs a tool: it parses the model's JSON arguments, runs the tool (which
 * reports itself through @TraceTool), and turns every failure into an
 * `Error: ...` result for the model instead of throwing. A call that never
 * reaches a tool is reported here, through the same observer.
 */
@Injectable()
export class ToolRegistry {
  private readonly tools: ReadonlyMap<string, AgentTool>;

  constructor(
    private readonly observer: ToolCallObserver,
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

  /**
   * Runs the tool the model asked for if the agent lists it: the list is a
   * permission, whatever the model names. Never throws: a refusal, bad JSON,
   * a ToolError or any other failure becomes `{ result: 'Error: ...', success: false }`.
   */
  async execute(
    name: string,
    rawArguments: string,
    context: ToolContext,
    allowed: readonly string[],
  ): Promise<ToolExecutionResult> {
    const tool = this.tools.get(name);
    if (!tool || !allowed.includes(tool.name)) {
      const shown = truncate(name);
      await this.observer.refused(
        { toolName: tool?.name ?? UNKNOWN_TOOL_LABEL, callId: context.callId },
        tool ? 'not_allowed' : 'unknown_tool',
        shown,
      );
      // The same answer either way: a model probing names learns nothing about what exists.
      return { result: `Error: tool ${shown} is not available to this agent`, success: false };
    }
    let args: Record<string, unknown>;
    try {
      args = parseArguments(rawArguments);
    } catch (error) {
      await this.observer.rejected(
        { toolName: tool.name, callId: context.callId },
        'invalid_arguments',
      );
      return { result: `Error: ${(error as Error).message}`, success: false };
    }
    try {
      return { result: await tool.execute(args, context), success: true };
    } catch (error) {
      if (error instanceof ToolError) return { result: `Error: ${error.message}`, success: false };
      // Internal failures (a database error...) can carry details the model and the user must not see.
      return {
        result: `Error: the ${tool.name} tool failed unexpectedly; try again later`,
        success: false,
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
