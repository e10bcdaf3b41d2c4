import { Inject, Injectable, Optional } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_CONFIG } from '../../config';
import type { AppConfig } from '../../config';
import { currentRequestContext } from '../../observability/context';
import { scrubText } from '../../observability/logging';
import { failureReport, TraceLlmCall } from '../../observability/observers';
import type { LlmCallDescriptor } from '../../observability/observers';
import { ChatStreamAssembler, MalformedStreamError, SseDecoder } from './chat-stream';
import { resolveUsage } from './chat-usage';
import { LlmNotConfiguredError, LlmRequestError } from './llm.types';
import type { ChatRequest, ChatResponse, ToolCall } from './llm.types';

/** How failed attempts are spaced. Overridable for tests through the LLM_RETRY_POLICY token. */
export interface LlmRetryPolicy {
  /** First backoff; doubles with each retry, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest Retry-After the client honours; a proxy asking for more gets this. */
  maxRetryAfterMs: number;
}

export const LLM_RETRY_POLICY = Symbol('LLM_RETRY_POLICY');

export const DEFAULT_LLM_RETRY_POLICY: LlmRetryPolicy = {
  baseDelayMs: 250,
  maxDelayMs: 4000,
  maxRetryAfterMs: 10_000,
};

type AttemptFailure = { error: LlmRequestError; retryable: boolean; retryAfterMs?: number };

export interface ChatOptions {
  /** Stops the call at once (the request in flight is aborted); it fails with errorType `cancelled`. */
  readonly signal?: AbortSignal;
  /**
   * Streams the answer from the proxy (`"stream": true` with usage in the last
   * chunk): LLM_TIMEOUT_MS then bounds the time to the first chunk and each
   * silence between chunks, not the whole answer, and only a failure before
   * the first chunk is retried.
   */
  readonly stream?: boolean;
  /** With `stream`: each piece of the answer's text as it arrives (never after a retry). */
  readonly onTextDelta?: (text: string) => void;
}

const ERROR_DETAIL_MAX_CHARS = 200;

/** How a chat() call reads as the observer's records: a rename on either side is a compile error. */
const LLM_CALL: LlmCallDescriptor<[ChatRequest, string, ChatOptions], ChatResponse> = {
  subject: (request, _proxyUrl, options) => ({
    model: request.model,
    maxTokens: request.maxTokens,
    messages: request.messages,
    stream: options.stream === true,
  }),
  report: (response) => ({
    responseId: response.id,
    responseModel: response.model,
    finishReason: response.finishReason,
    usage: response.usage,
    attempts: response.attempts,
    message: response.message,
    timeToFirstChunkMs: response.timeToFirstChunkMs,
  }),
  failure: (error) => ({
    ...failureReport(error),
    cancelled: error instanceof LlmRequestError && error.errorType === LLM_CANCELLED,
    attempts: error instanceof LlmRequestError ? error.attempts : 1,
    httpStatus: error instanceof LlmRequestError ? error.status : undefined,
    timeToFirstChunkMs: error instanceof LlmRequestError ? error.timeToFirstChunkMs : undefined,
  }),
};

/**
 * The one adapter to the OpenAI-compatible proxy (LiteLLM, or the simulator).
 * One chat() call is one logical model call: it may make several HTTP
 * attempts (retries on 429/5xx/network/timeouts), but it is reported once,
 * with its total duration and the attempt count.
 */
@Injectable()
export class LlmClient {
  private readonly retryPolicy: LlmRetryPolicy;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(LLM_RETRY_POLICY) retryPolicy?: LlmRetryPolicy,
  ) {
    this.retryPolicy = retryPolicy ?? DEFAULT_LLM_RETRY_POLICY;
  }

  /**
   * The longest one chat() call can take: every attempt timing out, with the
   * longest wait between attempts. A budget reservation must not outlive it.
   */
  get worstCaseCallMs(): number {
    const { timeoutMs, maxRetries } = this.config.llm;
    const { maxDelayMs, maxRetryAfterMs } = this.retryPolicy;
    return timeoutMs * (maxRetries + 1) + maxRetries * Math.max(maxDelayMs, maxRetryAfterMs);
  }

  /** True when LLM_PROXY_URL is set; without it chat() throws LlmNotConfiguredError. */
  get configured(): boolean {
    return this.config.llm.proxyUrl !== undefined;
  }

  /**
   * Sends one chat-completions request, retrying transient failures.
   * @throws LlmNotConfiguredError before any I/O when no proxy is configured
   * @throws LlmRequestError once retries are exhausted or on a non-retryable answer
   */
  chat(request: ChatRequest, options: ChatOptions = {}): Promise<ChatResponse> {
    const { proxyUrl } = this.config.llm;
    // Not a model call at all: nothing to trace or count.
    if (proxyUrl === undefined) return Promise.reject(new LlmNotConfiguredError());
    return this.complete(request, proxyUrl, options);
  }

  @TraceLlmCall(LLM_CALL)
  private async complete(
    request: ChatRequest,
    proxyUrl: string,
    options: ChatOptions,
  ): Promise<ChatResponse> {
    const { maxRetries } = this.config.llm;
    const cancel = options.signal;
    const started = performance.now();
    const body = JSON.stringify({
      model: request.model,
      messages: request.messages,
      ...(request.tools && request.tools.length > 0
        ? { tools: request.tools, tool_choice: 'auto' }
        : {}),
      ...tokenCap(request),
      // The usage arrives in a last chunk of its own only when asked for.
      ...(options.stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    });
    const url = `${proxyUrl}/v1/chat/completions`;
    let attempts = 0;
    for (;;) {
      attempts++;
      const outcome = options.stream
        ? await this.streamAttempt(url, body, request, options, started)
        : await this.attempt(url, body, request, cancel);
      if (!('error' in outcome)) return { ...outcome, attempts };
      if (!outcome.retryable || attempts > maxRetries) {
        throw withAttempts(outcome.error, attempts, performance.now() - started);
      }
      try {
        await sleep(outcome.retryAfterMs ?? this.backoffMs(attempts), undefined, {
          signal: cancel,
        });
      } catch {
        throw withAttempts(cancelled(), attempts, performance.now() - started);
      }
    }
  }

  private async attempt(
    url: string,
    body: string,
    request: ChatRequest,
    cancel: AbortSignal | undefined,
  ): Promise<Omit<ChatResponse, 'attempts'> | AttemptFailure> {
    const { timeoutMs } = this.config.llm;
    if (cancel?.aborted) return { error: cancelled(), retryable: false };
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = cancel ? AbortSignal.any([timeout, cancel]) : timeout;
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      // The signal also bounds reading the body: a proxy that stalls mid-answer times out too.
      const response = await fetch(url, { method: 'POST', headers: this.headers(), body, signal });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      text = await response.text();
    } catch (error) {
      if (cancel?.aborted) return { error: cancelled(error), retryable: false };
      if (timeout.aborted) {
        return {
          error: new LlmRequestError(
            `LLM proxy did not answer within ${timeoutMs} ms`,
            'timeout',
            undefined,
            { cause: error },
          ),
          retryable: true,
        };
      }
      return {
        error: new LlmRequestError(
          `LLM proxy unreachable: ${networkReason(error)}`,
          'network',
          undefined,
          { cause: error },
        ),
        retryable: true,
      };
    }
    if (status < 200 || status >= 300) return this.httpFailure(status, text, retryAfter);
    try {
      return parseCompletion(text, request);
    } catch (error) {
      // A malformed 2xx is a broken proxy, not a transient fault: retrying would repeat it.
      return {
        error: new LlmRequestError(
          `LLM proxy sent an invalid response: ${(error as Error).message}`,
          'invalid_response',
          status,
        ),
        retryable: false,
      };
    }
  }

  /** An error status: retried on 429 and 5xx, after the Retry-After the proxy asks for. */
  private httpFailure(status: number, text: string, retryAfter: string | null): AttemptFailure {
    const retryable = status === 429 || status >= 500;
    return {
      error: new LlmRequestError(
        `LLM proxy answered ${status}${proxyErrorDetail(text)}`,
        `http_${status}`,
        status,
      ),
      retryable,
      retryAfterMs: retryable ? this.retryAfterMs(retryAfter) : undefined,
    };
  }

  /**
   * One streamed attempt: the answer is assembled chunk by chunk and its text
   * handed to onTextDelta as it arrives. A timer of LLM_TIMEOUT_MS runs until
   * the first chunk, then restarts at each chunk: a proxy that goes silent
   * times out, one that keeps writing does not. A failure before the first
   * chunk is retryable as for a plain call; after it, the text already handed
   * on cannot be taken back, so it is final.
   */
  private async streamAttempt(
    url: string,
    body: string,
    request: ChatRequest,
    options: ChatOptions,
    callStarted: number,
  ): Promise<Omit<ChatResponse, 'attempts'> | AttemptFailure> {
    const { timeoutMs } = this.config.llm;
    const cancel = options.signal;
    if (cancel?.aborted) return { error: cancelled(), retryable: false };
    const silence = new AbortController();
    let timer = setTimeout(() => silence.abort(), timeoutMs);
    const signal = cancel ? AbortSignal.any([silence.signal, cancel]) : silence.signal;
    let firstChunkMs: number | undefined;
    const assembler = new ChatStreamAssembler();
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: this.headers('text/event-stream'),
        body,
        signal,
      });
      if (response.status < 200 || response.status >= 300) {
        const retryAfter = response.headers.get('retry-after');
        return this.httpFailure(response.status, await response.text(), retryAfter);
      }
      if (!response.body) throw new MalformedStreamError('the answer has no body');
      const sse = new SseDecoder();
      const text = new TextDecoder();
      reading: for await (const bytes of response.body as AsyncIterable<Uint8Array>) {
        for (const data of sse.push(text.decode(bytes, { stream: true }))) {
          firstChunkMs ??= performance.now() - callStarted;
          clearTimeout(timer);
          timer = setTimeout(() => silence.abort(), timeoutMs);
          const delta = assembler.apply(data);
          if (delta !== '') options.onTextDelta?.(delta);
          if (assembler.done) break reading;
        }
      }
      if (firstChunkMs === undefined) throw new MalformedStreamError('the stream sent no chunk');
      if (!assembler.done && !assembler.finished) {
        return streamFailure(
          new LlmRequestError('LLM proxy stream ended before the answer was complete', 'network'),
          firstChunkMs,
        );
      }
      return { ...assembler.result(request), timeToFirstChunkMs: firstChunkMs };
    } catch (error) {
      if (cancel?.aborted) return streamFailure(cancelled(error), firstChunkMs);
      if (error instanceof MalformedStreamError) {
        return streamFailure(
          new LlmRequestError(
            `LLM proxy sent an invalid stream: ${error.message}`,
            'invalid_response',
            200,
          ),
          firstChunkMs,
          // A broken proxy, not a transient fault: retrying would repeat it.
          false,
        );
      }
      if (silence.signal.aborted) {
        const message =
          firstChunkMs === undefined
            ? `LLM proxy did not answer within ${timeoutMs} ms`
            : `LLM proxy stream went silent for ${timeoutMs} ms`;
        return streamFailure(
          new LlmRequestError(message, 'timeout', undefined, { cause: error }),
          firstChunkMs,
        );
      }
      const reason = networkReason(error);
      const message =
        firstChunkMs === undefined
          ? `LLM proxy unreachable: ${reason}`
          : `LLM proxy stream broke off: ${reason}`;
      return streamFailure(
        new LlmRequestError(message, 'network', undefined, { cause: error }),
        firstChunkMs,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  private headers(accept = 'application/json'): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept };
    if (this.config.llm.apiKey) headers.authorization = `Bearer ${this.config.llm.apiKey}`;
    // Lets the proxy's logs be joined to ours; traceparent is added by the fetch instrumentation.
    const requestId = currentRequestContext()?.requestId;
    if (requestId) headers['x-request-id'] = requestId;
    return headers;
  }

  /** Exponential backoff with "equal jitter": half fixed, half random, so retries spread out. */
  private backoffMs(attempt: number): number {
    const { baseDelayMs, maxDelayMs } = this.retryPolicy;
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  private retryAfterMs(header: string | null): number | undefined {
    if (header === null) return undefined;
    let ms: number;
    if (/^\d+(\.\d+)?$/.test(header.trim())) {
      ms = Number(header.trim()) * 1000;
    } else {
      const date = Date.parse(header);
      if (Number.isNaN(date)) return undefined;
      ms = date - Date.now();
    }
    return Math.min(Math.max(0, ms), this.retryPolicy.maxRetryAfterMs);
  }
}

/**
 * OpenAI's reasoning models (o1, o3, o4-mini, gpt-5...) refuse `max_tokens`
 * and count their hidden reasoning in `max_completion_tokens`; LiteLLM takes
 * either and maps it per provider. So those models get only
 * `max_completion_tokens` (accepted by LiteLLM and by OpenAI itself), the
 * others `max_tokens`, the field every proxy knows.
 */
const REASONING_MODEL = /^(?:[\w.-]+\/)?(?:o\d|gpt-5)/i;

function tokenCap(request: ChatRequest): Record<string, number> {
  if (request.maxTokens === undefined) return {};
  return REASONING_MODEL.test(request.model)
    ? { max_completion_tokens: request.maxTokens }
    : { max_tokens: request.maxTokens };
}

/** errorType of a call the platform stopped (its client left, its run's deadline passed). */
export const LLM_CANCELLED = 'cancelled';

function cancelled(cause?: unknown): LlmRequestError {
  return new LlmRequestError('The model call was cancelled', LLM_CANCELLED, undefined, { cause });
}

/**
 * A failed streamed attempt: retryable (when its kind is) only before the
 * first chunk, and carrying the time to it when it arrived.
 */
function streamFailure(
  error: LlmRequestError,
  firstChunkMs: number | undefined,
  retryableKind = error.errorType !== LLM_CANCELLED,
): AttemptFailure {
  error.timeToFirstChunkMs = firstChunkMs;
  return { error, retryable: retryableKind && firstChunkMs === undefined };
}

/** A call that took several attempts says so: "within 60000 ms" alone hides three minutes of retries. */
function withAttempts(
  error: LlmRequestError,
  attempts: number,
  elapsedMs: number,
): LlmRequestError {
  error.attempts = attempts;
  if (attempts > 1) {
    error.message = `${error.message} (${attempts} attempts, ${(elapsedMs / 1000).toFixed(1)} s in all)`;
  }
  return error;
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  return error instanceof Error ? error.message : 'unknown error';
}

/**
 * The proxy's own error message (OpenAI/LiteLLM put it at error.message),
 * scrubbed and shortened: it reaches the client and the stored run, and an
 * upstream's message can echo a key or an internal address.
 */
function proxyErrorDetail(text: string): string {
  let detail: unknown;
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } | string };
    detail = typeof parsed.error === 'string' ? parsed.error : parsed.error?.message;
  } catch {
    return '';
  }
  if (typeof detail !== 'string' || detail === '') return '';
  const clean = scrubText(detail, { hideLocations: true });
  const short =
    clean.length > ERROR_DETAIL_MAX_CHARS ? `${clean.slice(0, ERROR_DETAIL_MAX_CHARS)}...` : clean;
  return `: ${short}`;
}

function parseCompletion(text: string, request: ChatRequest): Omit<ChatResponse, 'attempts'> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error('body is not JSON');
  }
  if (typeof body !== 'object' || body === null) throw new Error('body is not an object');
  const { id, model, choices, usage } = body as Record<string, unknown>;
  const choice: unknown = Array.isArray(choices) ? choices[0] : undefined;
  if (typeof choice !== 'object' || choice === null) throw new Error('no choices');
  const { message, finish_reason } = choice as Record<string, unknown>;
  if (typeof message !== 'object' || message === null) throw new Error('choice has no message');
  const { content, tool_calls } = message as Record<string, unknown>;
  if (content !== null && content !== undefined && typeof content !== 'string') {
    throw new Error('message content is not text');
  }
  const toolCalls = parseToolCalls(tool_calls);
  const parsedMessage: ChatResponse['message'] = {
    role: 'assistant',
    content: content ?? null,
    ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
  };
  return {
    id: typeof id === 'string' ? id : '',
    model: typeof model === 'string' && model !== '' ? model : request.model,
    message: parsedMessage,
    finishReason:
      typeof finish_reason === 'string'
        ? finish_reason
        : toolCalls.length > 0
          ? 'tool_calls'
          : 'stop',
    usage: resolveUsage(usage, request, parsedMessage),
  };
}

function parseToolCalls(raw: unknown): ToolCall[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new Error('tool_calls is not a list');
  return raw.map((entry: unknown, index): ToolCall => {
    const call = entry as { id?: unknown; function?: { name?: unknown; arguments?: unknown } };
    if (typeof call?.function?.name !== 'string' || call.function.name === '') {
      throw new Error(`tool call ${index} has no function name`);
    }
    const args = call.function.arguments;
    return {
      id: typeof call.id === 'string' && call.id !== '' ? call.id : `call_${index}`,
      type: 'function',
      function: {
        name: call.function.name,
        // Some providers send parsed objects; the agent loop expects the JSON text.
        arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
      },
    };
  });
}
