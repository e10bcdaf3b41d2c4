import { ChatStreamAssembler, MalformedStreamError, SseDecoder } from './chat-stream';
import type { ChatRequest } from './llm.types';

const REQUEST: ChatRequest = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] };

/** Feeds the pieces one by one and collects every payload they complete. */
function decode(pieces: string[]): string[] {
  const decoder = new SseDecoder();
  return pieces.flatMap((piece) => decoder.push(piece));
}

/** Every way of cutting the text in two. */
function everySplit(text: string): string[][] {
  return Array.from({ length: text.length + 1 }, (_, at) => [text.slice(0, at), text.slice(at)]);
}

function chunk(delta: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    id: 'chatcmpl-1',
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, delta, finish_reason: null }],
    ...extra,
  });
}

describe(SseDecoder.name, () => {
  const STREAM = 'data: {"a":1}\n\n: keep-alive\n\nevent: message\ndata: two\ndata: lines\n\n';

  it('yields the data of each complete event, skipping comments and other fields', () => {
    expect(decode([STREAM])).toEqual(['{"a":1}', 'two\nlines']);
  });

  it('gives the same events however the text is cut', () => {
    for (const pieces of everySplit(STREAM)) {
      expect(decode(pieces)).toEqual(['{"a":1}', 'two\nlines']);
    }
    expect(decode([...STREAM])).toEqual(['{"a":1}', 'two\nlines']);
  });

  it('takes CRLF, CR and LF line ends, also with CR and LF in different pieces', () => {
    const crlf = 'data: one\r\n\r\ndata: two\r\n\r\n';
    expect(decode([crlf])).toEqual(['one', 'two']);
    for (const pieces of everySplit(crlf)) expect(decode(pieces)).toEqual(['one', 'two']);
    expect(decode(['data: one\r\rdata: two\r\r'])).toEqual(['one', 'two']);
    expect(decode(['data: one\r', '\n', '\r', '\ndata: two\n\n'])).toEqual(['one', 'two']);
  });

  it('keeps an event until its blank line, and strips only one space after the colon', () => {
    const decoder = new SseDecoder();
    expect(decoder.push('data:  spaced\n')).toEqual([]);
    expect(decoder.push('data\n\n')).toEqual([' spaced\n']);
    expect(decoder.push('\n\n')).toEqual([]);
  });

  it('refuses a line that never ends', () => {
    const decoder = new SseDecoder();
    expect(() => decoder.push(`data: ${'x'.repeat(1_000_001)}`)).toThrow(MalformedStreamError);
  });
});

describe(ChatStreamAssembler.name, () => {
  it('assembles the text, the finish reason, the id, the model and the reported usage', () => {
    const assembler = new ChatStreamAssembler();
    const added = [
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Hello ' }),
      chunk({ content: 'world' }),
      JSON.stringify({
        id: 'chatcmpl-1',
        choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
      }),
      JSON.stringify({
        id: 'chatcmpl-1',
        choices: [],
        usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
      }),
      '[DONE]',
    ].map((data) => assembler.apply(data));
    expect(added).toEqual(['', 'Hello ', 'world', '', '', '']);
    expect(assembler.done).toBe(true);
    expect(assembler.result(REQUEST)).toEqual({
      id: 'chatcmpl-1',
      model: 'gpt-4o-mini-2024-07-18',
      message: { role: 'assistant', content: 'Hello world' },
      finishReason: 'stop',
      usage: { promptTokens: 12, completionTokens: 3, totalTokens: 15, estimated: false },
    });
  });

  it('gathers tool calls by index across fragments, ids and names from their first delta', () => {
    const assembler = new ChatStreamAssembler();
    for (const data of [
      chunk({ role: 'assistant', content: null }),
      chunk({
        tool_calls: [
          {
            index: 0,
            id: 'call_a',
            type: 'function',
            function: { name: 'calculator', arguments: '' },
          },
        ],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"expre' } }] }),
      chunk({
        tool_calls: [
          { index: 1, id: 'call_b', function: { name: 'current_time', arguments: '{}' } },
        ],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: 'ssion":"2+3"}' } }] }),
      JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] }),
      '[DONE]',
    ]) {
      expect(assembler.apply(data)).toBe('');
    }
    expect(assembler.result(REQUEST).message).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [
        {
          id: 'call_a',
          type: 'function',
          function: { name: 'calculator', arguments: '{"expression":"2+3"}' },
        },
        { id: 'call_b', type: 'function', function: { name: 'current_time', arguments: '{}' } },
      ],
    });
    expect(assembler.result(REQUEST).finishReason).toBe('tool_calls');
  });

  it('estimates the usage, and says so, when the stream reports none', () => {
    const assembler = new ChatStreamAssembler();
    assembler.apply(chunk({ content: 'Twelve chars' }, { usage: null }));
    assembler.apply(JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
    expect(assembler.finished).toBe(true);
    expect(assembler.result(REQUEST).usage).toEqual({
      promptTokens: 1,
      completionTokens: 3,
      totalTokens: 4,
      estimated: true,
    });
  });

  it('ignores what follows [DONE] and choices other than the first', () => {
    const assembler = new ChatStreamAssembler();
    assembler.apply(
      JSON.stringify({
        choices: [
          { index: 1, delta: { content: 'other' } },
          { index: 0, delta: { content: 'mine' } },
        ],
      }),
    );
    assembler.apply('[DONE]');
    expect(assembler.apply('not even JSON')).toBe('');
    expect(assembler.result(REQUEST).message.content).toBe('mine');
  });

  it.each([
    ['not JSON', 'data that is not JSON', /not JSON/],
    ['not an object', '[1,2]', /not an object/],
    ['choices not a list', '{"choices":{}}', /choices is not a list/],
    ['a delta that is not an object', '{"choices":[{"index":0,"delta":"x"}]}', /delta/],
    ['content that is not text', '{"choices":[{"index":0,"delta":{"content":3}}]}', /content/],
    ['tool_calls not a list', '{"choices":[{"index":0,"delta":{"tool_calls":{}}}]}', /tool_calls/],
    [
      'a tool call delta without an index',
      '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":-1}]}}]}',
      /index/,
    ],
    ['an error chunk', '{"error":{"message":"upstream died"}}', /error/],
  ])('refuses %s', (_name, data, message) => {
    expect(() => new ChatStreamAssembler().apply(data)).toThrow(message);
  });

  it('refuses a tool call that never got a name', () => {
    const assembler = new ChatStreamAssembler();
    assembler.apply(chunk({ tool_calls: [{ index: 0, function: { arguments: '{}' } }] }));
    expect(() => assembler.result(REQUEST)).toThrow(/tool call 0 has no name/);
  });
});
