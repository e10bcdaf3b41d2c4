import { resolveUsage } from './chat-usage';
import type { ChatRequest, ChatResponse, ToolCall } from './llm.types';

/** A line this long without its end is not a chat stream: the proxy is broken, not slow. */
const MAX_PENDING_LINE_CHARS = 1_000_000;

/** A chunk of a chat stream that cannot be read: the call fails as `invalid_response`. */
export class MalformedStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedStreamError';
  }
}

/**
 * Server-sent events as the chat-completions stream sends them, decoded
 * incrementally: text may be cut anywhere (inside a line, between CR and
 * LF), lines end with CRLF, LF or CR, comments (`:`) and fields other than
 * `data` are skipped, several `data` lines make one payload, and an event is
 * complete at its blank line. Returns the payloads of the events each piece
 * of text completed.
 */
export class SseDecoder {
  private pending = '';
  private data: string[] = [];
  /** The last piece ended with CR: an LF that starts the next one belongs to it. */
  private afterCr = false;

  push(text: string): string[] {
    let input = text;
    if (this.afterCr && input.startsWith('\n')) input = input.slice(1);
    this.afterCr = false;
    const events: string[] = [];
    const source = this.pending + input;
    let start = 0;
    for (let at = 0; at < source.length; at++) {
      const code = source.charCodeAt(at);
      if (code !== 0x0a && code !== 0x0d) continue;
      this.line(source.slice(start, at), events);
      if (code === 0x0d) {
        if (at + 1 === source.length) this.afterCr = true;
        else if (source.charCodeAt(at + 1) === 0x0a) at++;
      }
      start = at + 1;
    }
    this.pending = source.slice(start);
    if (this.pending.length > MAX_PENDING_LINE_CHARS) {
      throw new MalformedStreamError(`a stream line is longer than ${MAX_PENDING_LINE_CHARS}`);
    }
    return events;
  }

  private line(line: string, events: string[]): void {
    if (line === '') {
      if (this.data.length > 0) events.push(this.data.join('\n'));
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    if (field !== 'data') return;
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    this.data.push(value);
  }
}

interface PartialToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * Builds one chat completion from the `data` payloads of its stream: text
 * deltas appended, tool calls gathered by their index (id and name from the
 * first delta that has them, arguments appended fragment by fragment), the
 * finish reason, and the usage of the final chunk (`stream_options.include_usage`).
 * Anything that is not a chunk of that shape is a MalformedStreamError.
 */
export class ChatStreamAssembler {
  /** `[DONE]` arrived: the answer is whole. */
  done = false;
  private id = '';
  private model = '';
  private content = '';
  private hasContent = false;
  private finishReason: string | undefined;
  private usage: unknown;
  private readonly toolCalls = new Map<number, PartialToolCall>();

  /** True once a finish reason arrived: the answer is whole even if `[DONE]` never does. */
  get finished(): boolean {
    return this.finishReason !== undefined;
  }

  /** Takes one payload; returns the text it added to the answer ('' when none). */
  apply(data: string): string {
    if (this.done) return '';
    if (data === '[DONE]') {
      this.done = true;
      return '';
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      throw new MalformedStreamError('a stream chunk is not JSON');
    }
    if (typeof chunk !== 'object' || chunk === null || Array.isArray(chunk)) {
      throw new MalformedStreamError('a stream chunk is not an object');
    }
    const { id, model, choices, usage, error } = chunk as Record<string, unknown>;
    if (error !== undefined && error !== null) {
      // LiteLLM reports an upstream failure mid-stream as a chunk of its own.
      throw new MalformedStreamError('the stream carried an error instead of a chunk');
    }
    if (typeof id === 'string' && this.id === '') this.id = id;
    if (typeof model === 'string' && this.model === '') this.model = model;
    if (typeof usage === 'object' && usage !== null) this.usage = usage;
    if (choices === undefined || choices === null) return '';
    if (!Array.isArray(choices)) throw new MalformedStreamError('choices is not a list');
    let added = '';
    for (const entry of choices as unknown[]) {
      if (typeof entry !== 'object' || entry === null) {
        throw new MalformedStreamError('a choice is not an object');
      }
      const { index, delta, finish_reason } = entry as Record<string, unknown>;
      // One answer is asked for (no `n`): other choices are not ours to read.
      if (index !== undefined && index !== 0) continue;
      if (typeof finish_reason === 'string') this.finishReason = finish_reason;
      if (delta === undefined || delta === null) continue;
      if (typeof delta !== 'object') throw new MalformedStreamError('a delta is not an object');
      added += this.applyDelta(delta as Record<string, unknown>);
    }
    return added;
  }

  /** The whole answer, as a non-streamed call would have parsed it. */
  result(request: ChatRequest): Omit<ChatResponse, 'attempts'> {
    const toolCalls = [...this.toolCalls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, call]): ToolCall => {
        if (call.name === '') throw new MalformedStreamError(`tool call ${index} has no name`);
        return {
          id: call.id !== '' ? call.id : `call_${index}`,
          type: 'function',
          function: { name: call.name, arguments: call.arguments === '' ? '{}' : call.arguments },
        };
      });
    const message: ChatResponse['message'] = {
      role: 'assistant',
      content: this.hasContent ? this.content : null,
      ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
    };
    return {
      id: this.id,
      model: this.model !== '' ? this.model : request.model,
      message,
      finishReason: this.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
      usage: resolveUsage(this.usage, request, message),
    };
  }

  private applyDelta(delta: Record<string, unknown>): string {
    const { content, tool_calls } = delta;
    let added = '';
    if (content !== undefined && content !== null) {
      if (typeof content !== 'string') throw new MalformedStreamError('delta content is not text');
      this.content += content;
      this.hasContent ||= content !== '';
      added = content;
    }
    if (tool_calls === undefined || tool_calls === null) return added;
    if (!Array.isArray(tool_calls)) throw new MalformedStreamError('tool_calls is not a list');
    for (const raw of tool_calls as unknown[]) {
      const fragment = raw as {
        index?: unknown;
        id?: unknown;
        function?: { name?: unknown; arguments?: unknown };
      } | null;
      const index = fragment?.index ?? 0;
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0) {
        throw new MalformedStreamError('a tool call delta has no index');
      }
      let call = this.toolCalls.get(index);
      if (!call) {
        call = { id: '', name: '', arguments: '' };
        this.toolCalls.set(index, call);
      }
      if (typeof fragment?.id === 'string' && fragment.id !== '') call.id = fragment.id;
      const fn = fragment?.function;
      if (typeof fn?.name === 'string' && fn.name !== '') call.name = fn.name;
      if (fn?.arguments !== undefined && fn.arguments !== null) {
        if (typeof fn.arguments !== 'string') {
          throw new MalformedStreamError('tool call arguments are not text');
        }
        call.arguments += fn.arguments;
      }
    }
    return added;
  }
}
