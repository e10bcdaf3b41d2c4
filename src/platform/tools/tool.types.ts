import { ClassifiedError } from '../../common';
import type { ToolCallDescriptor } from '../../observability/observers';

/** What a tool knows about the call: whose data it may touch, and the model's call id. */
export interface ToolContext {
  tenantId: string;
  callId: string;
}

/**
 * A tool the agent loop can offer to the model. Implementations are Nest
 * providers whose `execute` is marked @TraceTool(). `execute` resolves to the
 * text fed back to the model; a ToolError (or any error) becomes the tool
 * result `Error: ...` and the run goes on.
 */
export interface AgentTool {
  readonly name: string;
  readonly description: string;
  /** JSON Schema of the arguments object. */
  readonly parameters: Record<string, unknown>;
  execute(args: Record<string, unknown>, context: ToolContext): Promise<string>;
}

/** A failure to report to the model (bad arguments, nothing found), not a crash. */
export class ToolError extends ClassifiedError {
  readonly errorType = 'tool_error';

  constructor(message: string) {
    super(message);
    this.name = 'ToolError';
  }
}

/**
 * How a tool provider's execute() reads as a tool call, for @TraceTool on
 * every tool: the registered name, the model's call id, the arguments.
 */
export const TOOL_CALL: ToolCallDescriptor<AgentTool, [Record<string, unknown>, ToolContext]> = {
  subject: (tool, args, context) => ({
    toolName: tool.name,
    callId: context.callId,
    arguments: args,
  }),
};

/** The tool names agents may list (SPEC section 4). */
export const TOOL_NAMES = ['calculator', 'current_time', 'kb_search'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

/** What ToolRegistry.execute resolves to: the text for the model, and whether the tool succeeded. */
export interface ToolExecutionResult {
  result: string;
  success: boolean;
}
