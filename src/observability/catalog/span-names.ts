/** The GenAI operations this application traces (OpenTelemetry GenAI conventions). */
export const GEN_AI_OPERATION = {
  invokeAgent: 'invoke_agent',
  chat: 'chat',
  executeTool: 'execute_tool',
} as const;

/** Span names: the GenAI conventions' `{operation} {target}`, and the HTTP conventions' server span. */
export const SPAN_NAME = {
  invokeAgent: (agentName: string): string => `${GEN_AI_OPERATION.invokeAgent} ${agentName}`,
  chat: (model: string): string => `${GEN_AI_OPERATION.chat} ${model}`,
  executeTool: (toolName: string): string => `${GEN_AI_OPERATION.executeTool} ${toolName}`,
  /** `{method} {route}`, or the method alone when no route matched. */
  httpServer: (method: string, route: string | undefined): string =>
    route ? `${method} ${route}` : method,
} as const;
