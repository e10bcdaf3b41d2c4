/**
 * OpenAI chat messages in the GenAI conventions' message shape
 * (`{ role, parts: [...] }`), for the opt-in gen_ai.input.messages and
 * gen_ai.output.messages attributes. Only called when content capture is on.
 */

type Part =
  | { type: 'text'; content: string }
  | { type: 'tool_call'; id?: string; name?: string; arguments?: unknown }
  | { type: 'tool_call_response'; id?: string; response: unknown };

interface ConventionMessage {
  role: string;
  parts: Part[];
  finish_reason?: string;
}

interface WireToolCall {
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}

interface WireMessage {
  role?: unknown;
  content?: unknown;
  tool_calls?: unknown;
  tool_call_id?: unknown;
}

export function toInputMessages(messages: unknown): ConventionMessage[] {
  if (!Array.isArray(messages)) return [];
  return messages.map((message) => toConventionMessage(message as WireMessage));
}

export function toOutputMessages(message: unknown, finishReason: unknown): ConventionMessage[] {
  if (typeof message !== 'object' || message === null) return [];
  const converted = toConventionMessage(message);
  if (typeof finishReason === 'string') converted.finish_reason = finishReason;
  return [converted];
}

function toConventionMessage(message: WireMessage): ConventionMessage {
  const role = typeof message.role === 'string' ? message.role : 'user';
  if (role === 'tool') {
    return {
      role,
      parts: [
        {
          type: 'tool_call_response',
          id: typeof message.tool_call_id === 'string' ? message.tool_call_id : undefined,
          response: message.content,
        },
      ],
    };
  }
  const parts: Part[] = [];
  if (typeof message.content === 'string' && message.content !== '') {
    parts.push({ type: 'text', content: message.content });
  }
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls as WireToolCall[]) {
      parts.push({
        type: 'tool_call',
        id: typeof call.id === 'string' ? call.id : undefined,
        name: typeof call.function?.name === 'string' ? call.function.name : undefined,
        arguments: parseArguments(call.function?.arguments),
      });
    }
  }
  return { role, parts };
}

function parseArguments(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}
