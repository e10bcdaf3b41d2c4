import type { ChatMessage, ChatRequest, ChatResponse, ChatUsage, ToolCall } from './llm.types';
import { estimateTokens } from './token-estimate';

function toolCallsText(calls: ToolCall[] | undefined): string {
  return (calls ?? []).map((call) => call.function.name + call.function.arguments).join('');
}

function messageChars(message: ChatMessage): string {
  const content = message.content ?? '';
  return message.role === 'assistant' ? content + toolCallsText(message.tool_calls) : content;
}

/** What the prompt of a request costs by the 4-characters-a-token rule: messages plus tool schemas. */
export function estimatePromptTokens(request: Pick<ChatRequest, 'messages' | 'tools'>): number {
  const text =
    request.messages.map(messageChars).join('') +
    (request.tools && request.tools.length > 0 ? JSON.stringify(request.tools) : '');
  return estimateTokens(text);
}

export function estimateCompletionTokens(message: ChatResponse['message']): number {
  return estimateTokens((message.content ?? '') + toolCallsText(message.tool_calls));
}

/**
 * The proxy's usage when it is plausible, else an estimate flagged as such.
 * A reported prompt count of zero for a non-empty prompt is treated as missing:
 * budgets must never count a real call as free.
 */
export function resolveUsage(
  reported: unknown,
  request: ChatRequest,
  message: ChatResponse['message'],
): ChatUsage {
  if (typeof reported === 'object' && reported !== null) {
    const { prompt_tokens: prompt, completion_tokens: completion } = reported as Record<
      string,
      unknown
    >;
    if (isCount(prompt) && isCount(completion) && prompt > 0) {
      return {
        promptTokens: prompt,
        completionTokens: completion,
        totalTokens: prompt + completion,
        estimated: false,
      };
    }
  }
  const promptTokens = estimatePromptTokens(request);
  const completionTokens = estimateCompletionTokens(message);
  return {
    promptTokens,
    completionTokens,
    totalTokens: promptTokens + completionTokens,
    estimated: true,
  };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
