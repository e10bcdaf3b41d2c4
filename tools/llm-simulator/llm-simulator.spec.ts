import { waitFor } from '../../test/helpers/wait-for';
import { LlmSimulator, startLlmSimulator } from './llm-simulator';
import { parseSimulatorArgs } from './main';

const CALCULATOR = {
  type: 'function',
  function: {
    name: 'calculator',
    description: 'Evaluates arithmetic',
    parameters: { type: 'object', properties: { expression: { type: 'string' } } },
  },
};
const KB_SEARCH = {
  type: 'function',
  function: {
    name: 'kb_search',
    description: 'Searches documents',
    parameters: { type: 'object', properties: { query: { type: 'string' } } },
  },
};
const CURRENT_TIME = {
  type: 'function',
  function: { name: 'current_time', description: 'Time', parameters: { type: 'object' } },
};

// The tests read many fields of OpenAI-shaped answers; typing each one would bury the assertions.

type JsonResponse = { json(): Promise<any> } & Response;

async function chat(
  simulator: LlmSimulator,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  return fetch(`${simulator.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

function ask(content: string, tools: unknown[] = []): Record<string, unknown> {
  return { model: 'gpt-4o-mini', messages: [{ role: 'user', content }], tools };
}

/** Reads an SSE body into its parsed `data:` payloads (the final "[DONE]" kept as a string). */
async function readEvents(res: Response): Promise<unknown[]> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice('data: '.length))
    .map((data) => (data === '[DONE]' ? data : JSON.parse(data)));
}

describe('LLM simulator', () => {
  let simulator: LlmSimulator;
  beforeEach(async () => {
    simulator = await startLlmSimulator();
  });
  afterEach(() => simulator.close());

  describe('answers', () => {
    it('answers a plain question with text, echoing the model and counting usage', async () => {
      const res = await chat(simulator, ask('Tell me a joke'));
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toMatchObject({
        id: expect.stringMatching(/^chatcmpl-/),
        object: 'chat.completion',
        model: 'gpt-4o-mini',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: expect.stringContaining('Tell me a joke') },
            finish_reason: 'stop',
          },
        ],
      });
      const { prompt_tokens, completion_tokens, total_tokens } = body.usage;
      expect(prompt_tokens).toBeGreaterThan(0);
      expect(completion_tokens).toBe(Math.ceil(body.choices[0].message.content.length / 4));
      expect(total_tokens).toBe(prompt_tokens + completion_tokens);
    });

    it('counts the offered tool schemas in the prompt tokens', async () => {
      const bare = await (await chat(simulator, ask('Hi'))).json();
      const withTools = await (await chat(simulator, ask('Hi', [CALCULATOR, KB_SEARCH]))).json();
      expect(withTools.usage.prompt_tokens).toBeGreaterThan(bare.usage.prompt_tokens + 20);
    });

    it('calls the calculator for arithmetic when it is offered', async () => {
      const body = await (await chat(simulator, ask('What is (2+3)*4?', [CALCULATOR]))).json();
      expect(body.choices[0]).toMatchObject({
        finish_reason: 'tool_calls',
        message: {
          content: null,
          tool_calls: [
            {
              id: expect.stringMatching(/^call_[0-9a-f]{24}$/),
              type: 'function',
              function: { name: 'calculator', arguments: '{"expression":"(2+3)*4"}' },
            },
          ],
        },
      });
    });

    it('answers arithmetic directly when no calculator is offered', async () => {
      const body = await (await chat(simulator, ask('What is 2+2?', [KB_SEARCH]))).json();
      expect(body.choices[0].finish_reason).toBe('stop');
      expect(body.choices[0].message.tool_calls).toBeUndefined();
    });

    it('searches the knowledge base for questions about documents', async () => {
      const body = await (
        await chat(simulator, ask('Search the knowledge base for refunds', [CALCULATOR, KB_SEARCH]))
      ).json();
      expect(body.choices[0].message.tool_calls[0].function).toEqual({
        name: 'kb_search',
        arguments: '{"query":"refunds"}',
      });
    });

    it('asks current_time with the zone named in the question', async () => {
      const body = await (
        await chat(simulator, ask('What time is it in Europe/Paris?', [CURRENT_TIME]))
      ).json();
      expect(body.choices[0].message.tool_calls[0].function).toEqual({
        name: 'current_time',
        arguments: '{"timezone":"Europe/Paris"}',
      });
    });

    it('turns a tool result into a final answer', async () => {
      const body = await (
        await chat(simulator, {
          model: 'm',
          tools: [CALCULATOR],
          messages: [
            { role: 'user', content: 'What is 6*7?' },
            {
              role: 'assistant',
              content: null,
              tool_calls: [
                {
                  id: 'call_1',
                  type: 'function',
                  function: { name: 'calculator', arguments: '{"expression":"6*7"}' },
                },
              ],
            },
            { role: 'tool', tool_call_id: 'call_1', content: '42' },
          ],
        })
      ).json();
      expect(body.choices[0]).toMatchObject({
        finish_reason: 'stop',
        message: { content: 'The result is 42.' },
      });
    });

    it('keeps calling tools in tool-loop mode', async () => {
      simulator.setOptions({ toolLoop: true });
      const body = await (
        await chat(simulator, {
          model: 'm',
          tools: [CALCULATOR],
          messages: [
            { role: 'user', content: 'Hello' },
            { role: 'tool', tool_call_id: 'call_1', content: '2' },
          ],
        })
      ).json();
      expect(body.choices[0].finish_reason).toBe('tool_calls');
    });

    it('leaves usage out when omitUsage is on', async () => {
      simulator.setOptions({ omitUsage: true });
      const body = await (await chat(simulator, ask('Hi'))).json();
      expect(body).not.toHaveProperty('usage');
    });
  });

  describe('max_tokens and scripts', () => {
    const VERBOSE = 'word '.repeat(20_000);

    it('stops a long answer at max_tokens, as a real model does', async () => {
      simulator.setScript(() => ({ kind: 'text', content: VERBOSE }));
      const body = await (await chat(simulator, { ...ask('Write a lot'), max_tokens: 50 })).json();
      expect(body.choices[0].finish_reason).toBe('length');
      expect(body.usage.completion_tokens).toBe(50);
      expect(body.choices[0].message.content).toHaveLength(200);
    });

    it('reads max_completion_tokens before max_tokens (reasoning models)', async () => {
      simulator.setScript(() => ({ kind: 'text', content: VERBOSE }));
      const body = await (
        await chat(simulator, { ...ask('Write'), max_tokens: 500, max_completion_tokens: 20 })
      ).json();
      expect(body.usage.completion_tokens).toBe(20);
    });

    it('writes past the bound and reports it with ignoreMaxTokens', async () => {
      simulator.setScript(() => ({ kind: 'text', content: VERBOSE }));
      simulator.setOptions({ ignoreMaxTokens: true });
      const body = await (await chat(simulator, { ...ask('Write'), max_tokens: 50 })).json();
      expect(body.choices[0].finish_reason).toBe('stop');
      expect(body.usage.completion_tokens).toBe(25_000);
    });

    it('refuses a max_tokens that is not a positive integer', async () => {
      const res = await chat(simulator, { ...ask('Hi'), max_tokens: 0 });
      expect(res.status).toBe(400);
      expect((await res.json()).error.message).toContain('max_tokens');
    });

    it('answers what the script says, even a tool it was not offered, and falls back when it returns undefined', async () => {
      const seen: unknown[] = [];
      simulator.setScript((request) => {
        seen.push({ maxTokens: request.maxTokens, tools: request.tools?.length ?? 0 });
        if (request.messages.some((message) => message.role === 'tool')) return undefined;
        return { kind: 'tool_calls', calls: [{ name: 'kb_search', arguments: { query: 'x' } }] };
      });
      const first = await (
        await chat(simulator, { ...ask('What is 2+2?', [CALCULATOR]), max_tokens: 99 })
      ).json();
      expect(first.choices[0].message.tool_calls[0].function.name).toBe('kb_search');
      const second = await (
        await chat(simulator, {
          model: 'gpt-4o-mini',
          messages: [
            { role: 'user', content: 'What is 2+2?' },
            { role: 'assistant', content: null, tool_calls: first.choices[0].message.tool_calls },
            { role: 'tool', tool_call_id: first.choices[0].message.tool_calls[0].id, content: '4' },
          ],
        })
      ).json();
      expect(second.choices[0].finish_reason).toBe('stop');
      expect(seen).toEqual([
        { maxTokens: 99, tools: 1 },
        { maxTokens: undefined, tools: 0 },
      ]);
      simulator.setScript(undefined);
      const plain = await (await chat(simulator, ask('What is 2+2?', [CALCULATOR]))).json();
      expect(plain.choices[0].message.tool_calls[0].function.name).toBe('calculator');
    });
  });

  describe('streaming', () => {
    it('streams text deltas, a finish chunk, usage when asked for, then [DONE]', async () => {
      const res = await chat(simulator, {
        ...ask('Tell me something'),
        stream: true,
        stream_options: { include_usage: true },
      });
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const events = await readEvents(res);
      expect(events[events.length - 1]).toBe('[DONE]');
      const chunks = events.slice(0, -1) as {
        choices: { delta: { content?: string }; finish_reason: string | null }[];
        usage: unknown;
      }[];
      const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
      expect(text).toContain('Tell me something');
      const finish = chunks.find((chunk) => chunk.choices[0]?.finish_reason);
      expect(finish?.choices[0].finish_reason).toBe('stop');
      const last = chunks[chunks.length - 1];
      expect(last.choices).toEqual([]);
      expect(last.usage).toMatchObject({ prompt_tokens: expect.any(Number) });
    });

    it('streams tool calls as id/name first, then argument fragments', async () => {
      const res = await chat(simulator, { ...ask('What is 12/4?', [CALCULATOR]), stream: true });
      const chunks = (await readEvents(res)).slice(0, -1) as {
        choices: {
          delta: { tool_calls?: { id?: string; function: { name?: string; arguments: string } }[] };
          finish_reason: string | null;
        }[];
        usage?: unknown;
      }[];
      const deltas = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
      expect(deltas[0]).toMatchObject({
        id: expect.stringMatching(/^call_/),
        function: { name: 'calculator' },
      });
      expect(deltas.map((delta) => delta.function.arguments).join('')).toBe(
        '{"expression":"12/4"}',
      );
      expect(chunks.some((chunk) => chunk.choices[0]?.finish_reason === 'tool_calls')).toBe(true);
      expect(chunks.every((chunk) => chunk.usage === undefined)).toBe(true);
    });

    it('spaces the chunks after the first by chunkLatencyMs', async () => {
      simulator.setOptions({ chunkLatencyMs: 40 });
      const res = await chat(simulator, { ...ask('one two three'), stream: true });
      const reader = res.body!.getReader();
      const arrivals: number[] = [];
      for (;;) {
        const { done } = await reader.read();
        if (done) break;
        arrivals.push(performance.now());
      }
      // The role chunk, the words of the answer, the finish chunk: five pauses at least.
      expect(arrivals.length).toBeGreaterThanOrEqual(6);
      expect(arrivals[arrivals.length - 1] - arrivals[0]).toBeGreaterThanOrEqual(5 * 40 - 10);
    });

    it('drops the connection after dropStreamAfterChunks chunks, without [DONE]', async () => {
      simulator.setOptions({ dropStreamAfterChunks: 1 });
      const res = await chat(simulator, { ...ask('Tell me something'), stream: true });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      let text = '';
      await expect(
        (async () => {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) return;
            text += Buffer.from(value).toString();
          }
        })(),
      ).rejects.toThrow();
      expect(text.match(/^data: /gm)).toHaveLength(1);
      expect(text).toContain('"role":"assistant"');
      expect(text).not.toContain('[DONE]');
    });

    it('streams what the script answers, cut at max_tokens unless ignoreMaxTokens', async () => {
      simulator.setScript(() => ({ kind: 'text', content: 'word '.repeat(40) }));
      const streamedText = async (): Promise<{ text: string; finish: unknown }> => {
        const res = await chat(simulator, { ...ask('Hi'), max_tokens: 5, stream: true });
        const chunks = (await readEvents(res)).slice(0, -1) as {
          choices: { delta: { content?: string }; finish_reason: string | null }[];
        }[];
        return {
          text: chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join(''),
          finish: chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0].finish_reason,
        };
      };
      expect(await streamedText()).toEqual({ text: 'word '.repeat(4), finish: 'length' });
      simulator.setOptions({ ignoreMaxTokens: true });
      expect(await streamedText()).toEqual({ text: 'word '.repeat(40), finish: 'stop' });
    });

    it('stops streaming when the client leaves, with no timer left behind', async () => {
      simulator.setOptions({ chunkLatencyMs: 10_000 });
      const res = await chat(simulator, { ...ask('Hi'), stream: true });
      await res.body!.cancel();
      await waitFor(() => simulator.abortedChatRequestCount === 1);
    });
  });

  describe('failure modes', () => {
    it('fails every request with an OpenAI-style error body at errorRate 1', async () => {
      simulator.setOptions({ errorRate: 1 });
      const res = await chat(simulator, ask('Hi'));
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({
        error: {
          message: expect.stringContaining('Simulated'),
          type: 'server_error',
          param: null,
          code: null,
        },
      });
    });

    it('fails the next N requests with the configured status and Retry-After, then recovers', async () => {
      simulator.setOptions({ failNext: 2, failureStatus: 429, retryAfterSeconds: 3 });
      const first = await chat(simulator, ask('Hi'));
      expect(first.status).toBe(429);
      expect(first.headers.get('retry-after')).toBe('3');
      expect((await first.json()).error.code).toBe('rate_limit_exceeded');
      expect((await chat(simulator, ask('Hi'))).status).toBe(429);
      expect((await chat(simulator, ask('Hi'))).status).toBe(200);
    });

    it('fails the same requests for the same seed', async () => {
      const outcomes = async (seed: number): Promise<number[]> => {
        const seeded = await startLlmSimulator({ seed, errorRate: 0.5 });
        try {
          const statuses: number[] = [];
          for (let i = 0; i < 12; i++) statuses.push((await chat(seeded, ask('Hi'))).status);
          return statuses;
        } finally {
          await seeded.close();
        }
      };
      const first = await outcomes(7);
      expect(await outcomes(7)).toEqual(first);
      expect(first).toContain(500);
      expect(first).toContain(200);
    });

    it('holds requests while hanging and answers them once the hang is turned off', async () => {
      simulator.setOptions({ hang: true });
      const pending = chat(simulator, ask('Hi'));
      await waitFor(() => simulator.chatRequestCount === 1);
      const health = await fetch(`${simulator.url}/health/liveliness`);
      expect(health.status).toBe(200);
      simulator.setOptions({ hang: false });
      expect((await pending).status).toBe(200);
    });

    it('counts a chat request whose client gave up before the answer as aborted, an answered one not', async () => {
      simulator.setOptions({ latencyMs: 300 });
      expect((await chat(simulator, ask('Hi'))).status).toBe(200);
      const controller = new AbortController();
      const aborted = fetch(`${simulator.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(ask('Hi')),
        signal: controller.signal,
      }).catch((error: unknown) => error);
      await waitFor(() => simulator.chatRequestCount === 2);
      expect(simulator.abortedChatRequestCount).toBe(0);
      controller.abort();
      expect(await aborted).toMatchObject({ name: 'AbortError' });
      await waitFor(() => simulator.abortedChatRequestCount === 1);
    });

    it('hangs the health endpoints too with hangHealth', async () => {
      simulator.setOptions({ hang: true, hangHealth: true });
      await expect(
        fetch(`${simulator.url}/health/readiness`, { signal: AbortSignal.timeout(200) }),
      ).rejects.toThrow();
      simulator.setOptions({ hang: false });
      expect((await fetch(`${simulator.url}/health/readiness`)).status).toBe(200);
    });

    it('closes even with hung requests in flight', async () => {
      simulator.setOptions({ hang: true });
      const pending = chat(simulator, ask('Hi')).catch((error: unknown) => error);
      await waitFor(() => simulator.chatRequestCount === 1);
      await simulator.close();
      expect(await pending).toMatchObject({ message: 'fetch failed' });
      simulator = await startLlmSimulator();
    });

    it('rejects invalid options', () => {
      expect(() => simulator.setOptions({ errorRate: 2 })).toThrow(/errorRate/);
      expect(() => simulator.setOptions({ failureStatus: 200 })).toThrow(/failureStatus/);
      expect(() => simulator.setOptions({ latencyMs: -1 })).toThrow(/latencyMs/);
      expect(() => simulator.setOptions({ chunkLatencyMs: -1 })).toThrow(/chunkLatencyMs/);
      expect(() => simulator.setOptions({ dropStreamAfterChunks: 1.5 })).toThrow(
        /dropStreamAfterChunks/,
      );
    });

    it('changes options over HTTP', async () => {
      const res = await fetch(`${simulator.url}/__simulator/options`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ errorRate: 1, failureStatus: 503 }),
      });
      expect(await res.json()).toMatchObject({ errorRate: 1, failureStatus: 503 });
      expect((await chat(simulator, ask('Hi'))).status).toBe(503);
    });
  });

  describe('requests', () => {
    it('answers the LiteLLM health paths', async () => {
      const live = await fetch(`${simulator.url}/health/liveliness`);
      expect(live.status).toBe(200);
      expect(await live.json()).toBe("I'm alive!");
      const ready = await fetch(`${simulator.url}/health/readiness`);
      expect(await ready.json()).toEqual({ status: 'healthy' });
    });

    it('rejects malformed requests with 400 and unknown routes with 404', async () => {
      const badJson = await fetch(`${simulator.url}/v1/chat/completions`, {
        method: 'POST',
        body: '{"model"',
      });
      expect(badJson.status).toBe(400);
      expect((await chat(simulator, { model: 'm', messages: [] })).status).toBe(400);
      expect((await chat(simulator, { messages: [{ role: 'user', content: 'x' }] })).status).toBe(
        400,
      );
      expect((await fetch(`${simulator.url}/v1/embeddings`)).status).toBe(404);
    });

    it('records requests with their headers, bounded', async () => {
      const bounded = await startLlmSimulator({ maxRecordedRequests: 2 });
      try {
        const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
        for (const content of ['one', 'two', 'three']) {
          await chat(bounded, ask(content), { traceparent });
        }
        expect(bounded.chatRequestCount).toBe(3);
        expect(bounded.requests).toHaveLength(2);
        expect(bounded.requests[1]).toMatchObject({
          method: 'POST',
          path: '/v1/chat/completions',
          headers: { traceparent },
          body: { messages: [{ content: 'three' }] },
        });
        bounded.clearRequests();
        expect(bounded.requests).toEqual([]);
      } finally {
        await bounded.close();
      }
    });

    it('requires the bearer key only when started with one', async () => {
      const guarded = await startLlmSimulator({ apiKey: 'sk-sim' });
      try {
        const denied = await chat(guarded, ask('Hi'));
        expect(denied.status).toBe(401);
        expect((await denied.json()).error.code).toBe('invalid_api_key');
        expect((await chat(guarded, ask('Hi'), { authorization: 'Bearer wrong' })).status).toBe(
          401,
        );
        expect((await chat(guarded, ask('Hi'), { authorization: 'Bearer sk-sim' })).status).toBe(
          200,
        );
        expect((await fetch(`${guarded.url}/health/liveliness`)).status).toBe(200);
      } finally {
        await guarded.close();
      }
      expect((await chat(simulator, ask('Hi'))).status).toBe(200);
    });
  });
});

describe(parseSimulatorArgs.name, () => {
  it('takes the port from --port, then LLM_SIM_PORT, then 4000', () => {
    expect(parseSimulatorArgs(['--port', '4100'], { LLM_SIM_PORT: '4200' })).toMatchObject({
      port: 4100,
    });
    expect(parseSimulatorArgs([], { LLM_SIM_PORT: '4200' })).toMatchObject({ port: 4200 });
    expect(parseSimulatorArgs([], {})).toMatchObject({ port: 4000 });
  });

  it('parses the behaviour flags', () => {
    expect(
      parseSimulatorArgs(
        [
          '--latency-ms',
          '50',
          '--chunk-latency-ms',
          '20',
          '--error-rate',
          '0.2',
          '--failure-status',
          '503',
          '--seed',
          '3',
          '--hang',
          '--omit-usage',
        ],
        {},
      ),
    ).toMatchObject({
      latencyMs: 50,
      chunkLatencyMs: 20,
      errorRate: 0.2,
      failureStatus: 503,
      seed: 3,
      hang: true,
      omitUsage: true,
    });
  });

  it('rejects unknown flags and non-numbers', () => {
    expect(() => parseSimulatorArgs(['--nope'], {})).toThrow();
    expect(() => parseSimulatorArgs(['--latency-ms', 'slow'], {})).toThrow(/latency-ms/);
  });
});
