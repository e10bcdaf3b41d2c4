import { ClassifiedError, DependencyUnavailableError } from '../../common';

/** OpenAI chat-completions shapes (the subset the agent loop uses), as sent on the wire. */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ToolCall[] }
  | { role: 'tool'; content: string; tool_call_id: string };

export interface ToolSchema {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ToolSchema[];
  /** The most completion tokens the answer may take (the budget's bound). */
  maxTokens?: number;
}

export interface ChatUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** true when the proxy reported no usage and the counts were estimated from text length. */
  estimated: boolean;
}

export interface ChatResponse {
  id: string;
  /** The model that answered (may differ from the requested one behind a proxy). */
  model: string;
  message: { role: 'assistant'; content: string | null; tool_calls?: ToolCall[] };
  finishReason: string;
  usage: ChatUsage;
  /** HTTP attempts it took (retries included). */
  attempts: number;
  /** Streamed calls: from the call's start (retries included) to the first chunk. */
  timeToFirstChunkMs?: number;
}

/** No LLM_PROXY_URL: agent runs answer 503 naming the variable. */
export class LlmNotConfiguredError extends DependencyUnavailableError {
  constructor() {
    super(
      'llm_proxy',
      'No LLM proxy is configured: set LLM_PROXY_URL to an OpenAI-compatible endpoint (e.g. LiteLLM)',
    );
    this.name = 'LlmNotConfiguredError';
  }
}

/** The proxy failed after retries; the run is stored as `error` and answers 502. */
export class LlmRequestError extends ClassifiedError {
  /** HTTP attempts made before giving up. */
  attempts = 1;
  /** A streamed call whose failure came after its first chunk: when that chunk arrived. */
  timeToFirstChunkMs?: number;

  constructor(
    message: string,
    /** For metrics/spans' error.type: `timeout`, `network`, `http_<status>`, `invalid_response`. */
    readonly errorType: string,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'LlmRequestError';
  }
}
