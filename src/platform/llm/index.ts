export { LlmModule } from './llm.module';
export {
  DEFAULT_LLM_RETRY_POLICY,
  LLM_CANCELLED,
  LLM_RETRY_POLICY,
  LlmClient,
} from './llm-client.service';
export type { ChatOptions, LlmRetryPolicy } from './llm-client.service';
export { estimateCompletionTokens, estimatePromptTokens } from './chat-usage';
export { estimateTokens } from './token-estimate';
export { LlmNotConfiguredError, LlmRequestError } from './llm.types';
export type {
  ChatMessage,
  ChatRequest,
  ChatResponse,
  ChatUsage,
  ToolCall,
  ToolSchema,
} from './llm.types';
