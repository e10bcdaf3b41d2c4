/**
 * The simulator's "model": a deterministic function from a chat-completions
 * request to an answer. It calls the tools the caller offers when the last
 * user message asks for them, and turns tool results into a final answer, so
 * an agent loop finishes in two steps.
 */

export interface WireToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface WireMessage {
  role: string;
  content?: unknown;
  tool_calls?: WireToolCall[];
  tool_call_id?: string;
  name?: string;
}

export interface WireTool {
  type?: string;
  function?: { name?: string; description?: string; parameters?: unknown };
}

export type ScriptedAnswer =
  | { kind: 'text'; content: string }
  | { kind: 'tool_calls'; calls: { name: string; arguments: Record<string, unknown> }[] };

export interface ScriptOptions {
  /** Keep calling a tool even after tool results (to drive an agent into max_steps). */
  toolLoop?: boolean;
}

/** Text of a message's content: a string, or OpenAI's array of `{type:'text', text}` parts. */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) =>
        typeof part === 'object' &&
        part !== null &&
        typeof (part as { text?: unknown }).text === 'string'
          ? (part as { text: string }).text
          : '',
      )
      .join('');
  }
  return '';
}

export function offeredToolNames(tools: WireTool[] | undefined): Set<string> {
  const names = new Set<string>();
  for (const tool of tools ?? []) {
    if (typeof tool?.function?.name === 'string') names.add(tool.function.name);
  }
  return names;
}

export function scriptAnswer(
  messages: WireMessage[],
  tools: WireTool[] | undefined,
  options: ScriptOptions = {},
): ScriptedAnswer {
  const offered = offeredToolNames(tools);
  const last = messages[messages.length - 1];
  const question = lastUserText(messages);
  if (last?.role === 'tool' && !options.toolLoop) {
    return { kind: 'text', content: answerFromToolResults(messages) };
  }
  const call = toolCallFor(question, offered);
  if (call) return { kind: 'tool_calls', calls: [call] };
  if (options.toolLoop && offered.size > 0) {
    // Any offered tool will do: the point is that the model never stops asking.
    const name = offered.has('calculator') ? 'calculator' : [...offered][0];
    return {
      kind: 'tool_calls',
      calls: [{ name, arguments: name === 'calculator' ? { expression: '1+1' } : {} }],
    };
  }
  return { kind: 'text', content: directAnswer(question) };
}

function lastUserText(messages: WireMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i].role === 'user') return messageText(messages[i].content).trim();
  }
  return '';
}

// Digits, operators and parentheses, containing at least one operator between operands.
const ARITHMETIC =
  /[-+(]*\s*(?:\d+(?:\.\d+)?|\.\d+)(?:\s*[-+*/^x×÷]\s*[-+(\s]*(?:\d+(?:\.\d+)?|\.\d+)\s*\)*)+/;
const KNOWLEDGE =
  /\b(knowledge base|knowledge|documents?|docs|policy|policies|handbook|kb|our (?:faq|guide|manual))\b/i;
const TIME =
  /\b(what time|the time|current time|time is it|time in|date today|today's date|clock)\b/i;
const TIMEZONE = /\b(UTC|GMT|[A-Z][a-z]+\/[A-Z][A-Za-z_]+(?:\/[A-Z][A-Za-z_]+)?)\b/;

function toolCallFor(
  question: string,
  offered: Set<string>,
): { name: string; arguments: Record<string, unknown> } | undefined {
  if (!question) return undefined;
  if (offered.has('kb_search') && KNOWLEDGE.test(question)) {
    return { name: 'kb_search', arguments: { query: knowledgeQuery(question) } };
  }
  if (offered.has('current_time') && TIME.test(question)) {
    const zone = TIMEZONE.exec(question)?.[1];
    return { name: 'current_time', arguments: zone ? { timezone: zone } : {} };
  }
  const arithmetic = ARITHMETIC.exec(question);
  if (offered.has('calculator') && arithmetic) {
    const expression = balanceParentheses(
      arithmetic[0].replace(/[x×]/g, '*').replace(/÷/g, '/').trim(),
    );
    return { name: 'calculator', arguments: { expression } };
  }
  return undefined;
}

/** "What is (2+3)*4?" can leave a leading "(" of a wider phrase; drop unmatched ones. */
function balanceParentheses(expression: string): string {
  let result = expression;
  const count = (char: string): number => result.split(char).length - 1;
  while (count('(') > count(')') && result.startsWith('(')) result = result.slice(1);
  while (count(')') > count('(') && result.endsWith(')')) result = result.slice(0, -1);
  return result.trim();
}

function knowledgeQuery(question: string): string {
  const patterns = [
    /\b(?:search|look up|check|query)\b.*?\b(?:for|about|on)\s+(.+)$/i,
    /\bsay(?:s)?\s+about\s+(.+)$/i,
    /\babout\s+(.+)$/i,
    /\bon\s+(.+)$/i,
  ];
  for (const pattern of patterns) {
    const match = pattern.exec(question);
    if (match?.[1]) return cleanQuery(match[1]);
  }
  return cleanQuery(question);
}

function cleanQuery(text: string): string {
  return (
    text
      .replace(/[?!.]+$/g, '')
      .replace(/^(the|our|a|an)\s+/i, '')
      .trim()
      .slice(0, 200) || 'documents'
  );
}

function answerFromToolResults(messages: WireMessage[]): string {
  // The tool messages after the last assistant turn answer its calls, in order.
  const results: { name: string; text: string }[] = [];
  let assistant: WireMessage | undefined;
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (message.role === 'tool') {
      results.unshift({ name: '', text: messageText(message.content).trim() });
      continue;
    }
    if (message.role === 'assistant') assistant = message;
    break;
  }
  const calls = assistant?.tool_calls ?? [];
  const toolMessages = messages.slice(messages.length - results.length);
  results.forEach((result, index) => {
    const id = toolMessages[index]?.tool_call_id;
    result.name =
      calls.find((call) => call.id === id)?.function?.name ?? calls[index]?.function?.name ?? '';
  });
  return results.map(({ name, text }) => summariseToolResult(name, text)).join(' ');
}

function summariseToolResult(name: string, text: string): string {
  if (text.startsWith('Error:')) {
    return `The ${name || 'tool'} reported a problem: ${text.slice('Error:'.length).trim()}`;
  }
  switch (name) {
    case 'calculator':
      return `The result is ${text}.`;
    case 'current_time':
      return `The current time is ${text}.`;
    case 'kb_search': {
      if (/^no documents matched/i.test(text)) {
        return 'I found no documents about that in the knowledge base.';
      }
      const hits = text.split('\n').filter((line) => line.trim() !== '');
      const first = hits[0].replace(/^\d+\.\s*/, '');
      return `According to the knowledge base (${hits.length} matching document${hits.length === 1 ? '' : 's'}): ${first}`;
    }
    default:
      return `The tool returned: ${text}`;
  }
}

function directAnswer(question: string): string {
  if (!question) return 'Hello! How can I help you today?';
  const quoted = question.length > 120 ? `${question.slice(0, 117)}...` : question;
  return `This is a simulated answer to: "${quoted}".`;
}
