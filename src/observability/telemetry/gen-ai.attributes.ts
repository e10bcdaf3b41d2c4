/**
 * Attribute names and fixed values: the OpenTelemetry GenAI semantic
 * conventions, the HTTP conventions our own server span uses, and the
 * original's request attributes. Spelled here once; import them, never
 * repeat the strings (span names are in the observability catalog).
 */

/** Instrumentation scope of every span this application creates by hand. */
export const TRACER_NAME = 'enterprise-agent-platform';

export const ATTR = {
  // GenAI (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/)
  genAiOperationName: 'gen_ai.operation.name',
  genAiProviderName: 'gen_ai.provider.name',
  genAiRequestModel: 'gen_ai.request.model',
  genAiRequestMaxTokens: 'gen_ai.request.max_tokens',
  genAiRequestStream: 'gen_ai.request.stream',
  genAiResponseModel: 'gen_ai.response.model',
  genAiResponseId: 'gen_ai.response.id',
  genAiResponseFinishReasons: 'gen_ai.response.finish_reasons',
  /** Seconds from the call's start to the first chunk of a streamed answer. */
  genAiResponseTimeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  genAiUsageInputTokens: 'gen_ai.usage.input_tokens',
  genAiUsageOutputTokens: 'gen_ai.usage.output_tokens',
  genAiAgentId: 'gen_ai.agent.id',
  genAiAgentName: 'gen_ai.agent.name',
  genAiToolName: 'gen_ai.tool.name',
  genAiToolType: 'gen_ai.tool.type',
  genAiToolCallId: 'gen_ai.tool.call.id',
  // Opt-in content: only with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true.
  genAiInputMessages: 'gen_ai.input.messages',
  genAiOutputMessages: 'gen_ai.output.messages',
  genAiToolCallArguments: 'gen_ai.tool.call.arguments',
  genAiToolCallResult: 'gen_ai.tool.call.result',
  // General
  errorType: 'error.type',
  // HTTP server (https://opentelemetry.io/docs/specs/semconv/http/http-spans/)
  httpRequestMethod: 'http.request.method',
  httpRoute: 'http.route',
  httpResponseStatusCode: 'http.response.status_code',
  urlPath: 'url.path',
  urlScheme: 'url.scheme',
  clientAddress: 'client.address',
  userAgentOriginal: 'user_agent.original',
  // Resource
  serviceName: 'service.name',
  serviceVersion: 'service.version',
  serviceInstanceId: 'service.instance.id',
  deploymentEnvironmentName: 'deployment.environment.name',
  // The original's request attributes, on every span of a request.
  tenantId: 'tenant_id',
  userId: 'user_id',
  agentId: 'agent_id',
} as const;

/**
 * The agent loop speaks the OpenAI chat-completions API (to LiteLLM or any
 * compatible proxy), so `openai` is the provider the conventions ask for.
 */
export const GEN_AI_PROVIDER = 'openai';

export const GEN_AI_TOOL_TYPE_FUNCTION = 'function';

/** W3C Trace Context Level 2 response header. */
export const TRACE_RESPONSE_HEADER = 'traceresponse';
