/**
 * SKELETON: the tracing issue implements these on the OpenTelemetry API.
 *
 * Contracts the platform code relies on:
 * - @TraceAgent() on AgentRunner.execute(agent: { id, name, type }, input, ...): span `invoke_agent {agent.name}`;
 *   the resolved value is a RunOutcome ({ status, ... }); a status other than success/max_steps marks the span ERROR.
 * - @TraceLlmCall() on LlmClient.chat(request: ChatRequest): span `chat {request.model}` (kind CLIENT);
 *   the resolved ChatResponse carries model, usage and finishReason.
 * - @TraceTool() on AgentTool.execute(args, context: ToolContext): span `execute_tool {this.name}`
 *   with context.callId as gen_ai.tool.call.id.
 */
export function TraceAgent(): MethodDecorator {
  return () => undefined;
}

export function TraceLlmCall(): MethodDecorator {
  return () => undefined;
}

export function TraceTool(): MethodDecorator {
  return () => undefined;
}
