import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Env } from '../../config';
import { sampleValue } from '../../../test/helpers/metrics';
import { startObservedModule } from '../../../test/helpers/observability';
import type { ObservedModule } from '../../../test/helpers/observability';
import { waitFor } from '../../../test/helpers/wait-for';
import { LlmSimulator, startLlmSimulator } from '../../../tools/llm-simulator';
import { estimateCompletionTokens, estimatePromptTokens } from './chat-usage';
import { LLM_RETRY_POLICY, LlmClient } from './llm-client.service';
import { ChatRequest, LlmNotConfiguredError, LlmRequestError, ToolSchema } from './llm.types';

const CALCULATOR: ToolSchema = {
  type: 'function',
  function: {
    name: 'calculator',
    description: 'Evaluates an arithmetic expression',
    parameters: {
      type: 'object',
      properties: { expression: { type: 'string' } },
      required: ['expression'],
    },
  },
};

const SECRET_PROMPT = 'What is 6*7? my secret is hunter2';

function question(content = SECRET_PROMPT, tools?: ToolSchema[]): ChatRequest {
  return { model: 'gpt-4o-mini', messages: [{ role: 'user', content }], tools };
}

/** The observed module of the test in progress (its logs and metrics), closed after each test. */
let observed: ObservedModule | undefined;

/** An LlmClient built by Nest with the observers, with millisecond backoff so retries stay quick. */
async function clientFor(
  env: Env,
  retryPolicy = { baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 20 },
): Promise<LlmClient> {
  observed = await startObservedModule({
    env,
    providers: [LlmClient, { provide: LLM_RETRY_POLICY, useValue: retryPolicy }],
  });
  return observed.get(LlmClient);
}

function current(): ObservedModule {
  if (!observed) throw new Error('no client built');
  return observed;
}

/** llm_requests_total of the requested model in the test's module. */
async function llmRequests(status: 'success' | 'error' | 'cancelled'): Promise<number | undefined> {
  return sampleValue(await current().samples(), 'llm_requests_total', {
    model: 'gpt-4o-mini',
    status,
  });
}

async function rejectionOf(promise: Promise<unknown>): Promise<LlmRequestError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof LlmRequestError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

/** A one-route server answering every request with the given status and raw body. */
async function startRawServer(
  status: number,
  body: string,
): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe(LlmClient.name, () => {
  let simulator: LlmSimulator;

  beforeAll(async () => {
    simulator = await startLlmSimulator();
  });
  afterAll(() => simulator.close());
  beforeEach(() => {
    simulator.setOptions({
      hang: false,
      failNext: 0,
      errorRate: 0,
      failureStatus: 500,
      retryAfterSeconds: undefined,
      omitUsage: false,
      answerModel: undefined,
      latencyMs: 0,
      chunkLatencyMs: 0,
      dropStreamAfterChunks: 0,
    });
    simulator.setScript(undefined);
    simulator.clearRequests();
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await observed?.close();
    observed = undefined;
  });

  it('returns the answer, the proxy-reported usage and the model the proxy names', async () => {
    simulator.setOptions({ answerModel: 'gpt-4o-mini-2024-07-18' });
    const response = await (
      await clientFor({ LLM_PROXY_URL: simulator.url })
    ).chat(question('Hello there'));
    expect(response).toMatchObject({
      id: expect.stringMatching(/^chatcmpl-/),
      model: 'gpt-4o-mini-2024-07-18',
      message: { role: 'assistant', content: expect.stringContaining('Hello there') },
      finishReason: 'stop',
      usage: { estimated: false },
    });
    const { promptTokens, completionTokens, totalTokens } = response.usage;
    expect(promptTokens).toBeGreaterThan(0);
    expect(completionTokens).toBeGreaterThan(0);
    expect(totalTokens).toBe(promptTokens + completionTokens);
    const samples = await current().samples();
    expect(await llmRequests('success')).toBe(1);
    expect(
      sampleValue(samples, 'llm_tokens_total', { model: 'gpt-4o-mini', token_type: 'prompt' }),
    ).toBe(promptTokens);
    expect(
      sampleValue(samples, 'llm_tokens_total', { model: 'gpt-4o-mini', token_type: 'completion' }),
    ).toBe(completionTokens);
    expect(
      sampleValue(samples, 'llm_request_duration_seconds_count', { model: 'gpt-4o-mini' }),
    ).toBe(1);
  });

  it('offers the tools with tool_choice auto and returns the tool calls', async () => {
    const response = await (
      await clientFor({ LLM_PROXY_URL: simulator.url, LLM_PROXY_API_KEY: 'sk-test' })
    ).chat(question('What is (2+3)*4?', [CALCULATOR]));
    expect(response.finishReason).toBe('tool_calls');
    expect(response.message.tool_calls).toEqual([
      {
        id: expect.stringMatching(/^call_/),
        type: 'function',
        function: { name: 'calculator', arguments: '{"expression":"(2+3)*4"}' },
      },
    ]);
    const [sent] = simulator.requests;
    expect(sent.headers.authorization).toBe('Bearer sk-test');
    expect(sent.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'What is (2+3)*4?' }],
      tools: [CALCULATOR],
      tool_choice: 'auto',
    });
  });

  it('sends neither tools nor tool_choice when no tools are offered', async () => {
    await (await clientFor({ LLM_PROXY_URL: simulator.url })).chat(question('Hi', []));
    expect(simulator.requests[0].body).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(simulator.requests[0].headers.authorization).toBeUndefined();
  });

  it.each([
    ['gpt-4o-mini', { max_tokens: 300 }],
    ['o3-mini', { max_completion_tokens: 300 }],
    ['openai/gpt-5-mini', { max_completion_tokens: 300 }],
  ])('caps the answer of %s with %j', async (model, cap) => {
    await (
      await clientFor({ LLM_PROXY_URL: simulator.url })
    ).chat({ ...question('Hi', []), model, maxTokens: 300 });
    expect(simulator.requests[0].body).toEqual({
      model,
      messages: [{ role: 'user', content: 'Hi' }],
      ...cap,
    });
  });

  it('logs one completion line with the attempts and never the prompt or completion text', async () => {
    await (await clientFor({ LLM_PROXY_URL: simulator.url })).chat(question());
    const lines = current().logs.events('llm.request.completed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      model: 'gpt-4o-mini',
      status: 'success',
      duration_ms: expect.any(Number),
      prompt_tokens: expect.any(Number),
      completion_tokens: expect.any(Number),
      attempts: 1,
    });
    expect(current().logs.raw.join('')).not.toContain('hunter2');
  });

  it('retries 5xx answers with backoff and records the call once', async () => {
    simulator.setOptions({ failNext: 2, failureStatus: 503 });
    const response = await (
      await clientFor({ LLM_PROXY_URL: simulator.url, LLM_MAX_RETRIES: '2' })
    ).chat(question());
    expect(response.finishReason).toBe('stop');
    expect(response.attempts).toBe(3);
    expect(simulator.requests).toHaveLength(3);
    expect(await llmRequests('success')).toBe(1);
    expect(await llmRequests('error')).toBeUndefined();
    const completed = current().logs.events('llm.request.completed');
    expect(completed.map((line) => line.attempts)).toEqual([3]);
  });

  it('gives up after LLM_MAX_RETRIES retries with http_<status> and records one error', async () => {
    simulator.setOptions({ failNext: 10, failureStatus: 500 });
    const client = await clientFor({ LLM_PROXY_URL: simulator.url, LLM_MAX_RETRIES: '1' });
    const error = await rejectionOf(client.chat(question()));
    expect(error).toMatchObject({ errorType: 'http_500', status: 500, attempts: 2 });
    expect(error.message).toContain('Simulated upstream failure');
    expect(simulator.requests).toHaveLength(2);
    expect(await llmRequests('error')).toBe(1);
    expect(await llmRequests('success')).toBeUndefined();
    const samples = await current().samples();
    expect(
      sampleValue(samples, 'llm_tokens_total', { model: 'gpt-4o-mini', token_type: 'prompt' }),
    ).toBe(0);
    const failed = current().logs.events('llm.request.failed');
    expect(failed).toEqual([
      expect.objectContaining({
        level: 'warn',
        error_type: 'http_500',
        http_status: 500,
        attempts: 2,
        status: 'error',
      }),
    ]);
    expect(current().logs.raw.join('')).not.toContain('hunter2');
  });

  it('retries 429 and honours Retry-After up to its cap', async () => {
    simulator.setOptions({ failNext: 1, failureStatus: 429, retryAfterSeconds: 3600 });
    const response = await (await clientFor({ LLM_PROXY_URL: simulator.url })).chat(question('Hi'));
    expect(response.finishReason).toBe('stop');
    expect(simulator.requests).toHaveLength(2);
  });

  it.each([400, 401, 404, 422])('does not retry a %i answer', async (status) => {
    simulator.setOptions({ failNext: 1, failureStatus: status });
    const client = await clientFor({ LLM_PROXY_URL: simulator.url, LLM_MAX_RETRIES: '3' });
    const error = await rejectionOf(client.chat(question()));
    expect(error).toMatchObject({ errorType: `http_${status}`, status });
    expect(simulator.requests).toHaveLength(1);
  });

  it('times out a hung proxy per attempt, retries, then fails with errorType timeout', async () => {
    simulator.setOptions({ hang: true });
    const client = await clientFor({
      LLM_PROXY_URL: simulator.url,
      LLM_TIMEOUT_MS: '100',
      LLM_MAX_RETRIES: '1',
    });
    const error = await rejectionOf(client.chat(question()));
    expect(error).toMatchObject({ errorType: 'timeout', name: 'LlmRequestError' });
    expect(error.message).toContain('100 ms');
    expect(simulator.requests).toHaveLength(2);
  });

  it('says how many attempts a timeout took, and how long in all', async () => {
    simulator.setOptions({ hang: true });
    const client = await clientFor({
      LLM_PROXY_URL: simulator.url,
      LLM_TIMEOUT_MS: '50',
      LLM_MAX_RETRIES: '2',
    });
    const error = await rejectionOf(client.chat(question()));
    expect(error.message).toMatch(
      /^LLM proxy did not answer within 50 ms \(3 attempts, \d+\.\d s in all\)$/,
    );
  });

  it('aborts the call in flight when its signal aborts: no retry, errorType cancelled, counted as cancelled', async () => {
    simulator.setOptions({ latencyMs: 5000 });
    const client = await clientFor({ LLM_PROXY_URL: simulator.url, LLM_MAX_RETRIES: '3' });
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(new Error('client gone')), 100);
    const error = await rejectionOf(client.chat(question(), { signal: controller.signal }));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(error).toMatchObject({ errorType: 'cancelled', attempts: 1 });
    expect(simulator.chatRequestCount).toBeGreaterThan(0);
    expect(simulator.requests).toHaveLength(1);
    expect(await llmRequests('cancelled')).toBe(1);
    expect(await llmRequests('error')).toBeUndefined();
    expect(current().logs.events('llm.request.cancelled')).toEqual([
      expect.objectContaining({ level: 'info', status: 'cancelled', error_type: 'cancelled' }),
    ]);
    simulator.setOptions({ latencyMs: 0 });
  });

  it('stops between retries when its signal aborts during the backoff', async () => {
    simulator.setOptions({ failNext: 5, failureStatus: 503, retryAfterSeconds: 5 });
    const client = await clientFor(
      { LLM_PROXY_URL: simulator.url, LLM_MAX_RETRIES: '3' },
      { baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 5000 },
    );
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = performance.now();
    const error = await rejectionOf(client.chat(question(), { signal: controller.signal }));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(error.errorType).toBe('cancelled');
    expect(simulator.requests).toHaveLength(1);
  });

  it('fails with errorType network when nothing listens, after the retries', async () => {
    const { url, server } = await startRawServer(200, '{}');
    await new Promise((resolve) => server.close(resolve));
    const client = await clientFor({ LLM_PROXY_URL: url, LLM_MAX_RETRIES: '2' });
    const error = await rejectionOf(client.chat(question()));
    expect(error).toMatchObject({ errorType: 'network' });
    expect(error.message).toContain('ECONNREFUSED');
    const failed = current().logs.events('llm.request.failed');
    expect(failed.map((line) => line.attempts)).toEqual([3]);
    expect(await llmRequests('error')).toBe(1);
  });

  it.each([
    ['not JSON', '<html>Bad gateway</html>'],
    ['no choices', '{"id":"x","choices":[]}'],
    ['a tool call without a name', '{"choices":[{"message":{"tool_calls":[{"id":"c"}]}}]}'],
  ])('rejects a 200 answer with %s as invalid_response without retrying', async (_case, body) => {
    const { url, server } = await startRawServer(200, body);
    let requests = 0;
    server.on('request', () => requests++);
    try {
      const client = await clientFor({ LLM_PROXY_URL: url });
      const error = await rejectionOf(client.chat(question()));
      expect(error.errorType).toBe('invalid_response');
      expect(requests).toBe(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('estimates usage from the text when the proxy reports none, and flags it', async () => {
    simulator.setOptions({ omitUsage: true });
    const request = question('What is (2+3)*4?', [CALCULATOR]);
    const response = await (await clientFor({ LLM_PROXY_URL: simulator.url })).chat(request);
    expect(response.usage.estimated).toBe(true);
    expect(response.usage.promptTokens).toBe(estimatePromptTokens(request));
    expect(response.usage.completionTokens).toBe(estimateCompletionTokens(response.message));
    expect(response.usage.promptTokens).toBeGreaterThan(0);
    expect(response.usage.completionTokens).toBeGreaterThan(0);
    const samples = await current().samples();
    expect(
      sampleValue(samples, 'llm_tokens_total', { model: 'gpt-4o-mini', token_type: 'prompt' }),
    ).toBe(response.usage.promptTokens);
    expect(
      sampleValue(samples, 'llm_tokens_total', { model: 'gpt-4o-mini', token_type: 'completion' }),
    ).toBe(response.usage.completionTokens);
    expect(current().logs.events('llm.request.completed')[0]).toMatchObject({
      usage_estimated: true,
    });
  });

  it('falls back to the requested model and an estimate when the answer omits them', async () => {
    const { url, server } = await startRawServer(
      200,
      '{"choices":[{"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":0,"completion_tokens":0}}',
    );
    try {
      const response = await (await clientFor({ LLM_PROXY_URL: url })).chat(question('Hello'));
      expect(response.model).toBe('gpt-4o-mini');
      expect(response.usage).toMatchObject({ estimated: true, completionTokens: 1 });
      expect(response.usage.promptTokens).toBeGreaterThan(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  describe('streaming', () => {
    /** A call with stream on, collecting the text deltas it hands on. */
    async function streamed(
      client: LlmClient,
      request: ChatRequest = question('Tell me a story'),
      signal?: AbortSignal,
    ): Promise<{ deltas: string[]; response: Awaited<ReturnType<LlmClient['chat']>> }> {
      const deltas: string[] = [];
      const response = await client.chat(request, {
        stream: true,
        signal,
        onTextDelta: (text) => deltas.push(text),
      });
      return { deltas, response };
    }

    it('asks for a stream with usage, hands on the text as it arrives, and times the first chunk', async () => {
      simulator.setOptions({ chunkLatencyMs: 20 });
      const client = await clientFor({ LLM_PROXY_URL: simulator.url });
      const { deltas, response } = await streamed(client, {
        ...question('Tell me a story'),
        maxTokens: 300,
      });
      expect(simulator.requests[0].body).toMatchObject({
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: 300,
      });
      expect(simulator.requests[0].headers.accept).toBe('text/event-stream');
      expect(deltas.length).toBeGreaterThan(2);
      expect(deltas.join('')).toBe(response.message.content);
      expect(response).toMatchObject({
        id: expect.stringMatching(/^chatcmpl-/),
        finishReason: 'stop',
        usage: { estimated: false },
        attempts: 1,
      });
      expect(response.timeToFirstChunkMs).toBeGreaterThanOrEqual(0);
      // The first chunk comes at once; the rest are 20 ms apart.
      expect(response.timeToFirstChunkMs).toBeLessThan(200);
      const samples = await current().samples();
      expect(
        sampleValue(samples, 'llm_time_to_first_token_seconds_count', { model: 'gpt-4o-mini' }),
      ).toBe(1);
      expect(current().logs.events('llm.request.completed')).toEqual([
        expect.objectContaining({ stream: true, time_to_first_chunk_ms: expect.any(Number) }),
      ]);
    });

    it('assembles tool calls whose arguments arrive in fragments', async () => {
      const client = await clientFor({ LLM_PROXY_URL: simulator.url });
      const { deltas, response } = await streamed(
        client,
        question('What is (12+30)*2?', [CALCULATOR]),
      );
      expect(deltas).toEqual([]);
      expect(response.finishReason).toBe('tool_calls');
      expect(response.message.tool_calls).toEqual([
        {
          id: expect.stringMatching(/^call_/),
          type: 'function',
          function: { name: 'calculator', arguments: '{"expression":"(12+30)*2"}' },
        },
      ]);
    });

    it('estimates the usage, and flags it, when the stream carries none', async () => {
      simulator.setOptions({ omitUsage: true });
      const client = await clientFor({ LLM_PROXY_URL: simulator.url });
      const request = question('Tell me a story');
      const { response } = await streamed(client, request);
      expect(response.usage).toEqual({
        promptTokens: estimatePromptTokens(request),
        completionTokens: estimateCompletionTokens(response.message),
        totalTokens: estimatePromptTokens(request) + estimateCompletionTokens(response.message),
        estimated: true,
      });
    });

    it('retries a failure before the first chunk, and hands on the text once', async () => {
      simulator.setOptions({ failNext: 1, failureStatus: 503 });
      const client = await clientFor({ LLM_PROXY_URL: simulator.url, LLM_MAX_RETRIES: '2' });
      const { deltas, response } = await streamed(client);
      expect(response.attempts).toBe(2);
      expect(deltas.join('')).toBe(response.message.content);
    });

    it('retries a proxy silent before the first chunk, within LLM_TIMEOUT_MS per attempt', async () => {
      simulator.setOptions({ latencyMs: 400 });
      const client = await clientFor({
        LLM_PROXY_URL: simulator.url,
        LLM_TIMEOUT_MS: '100',
        LLM_MAX_RETRIES: '1',
      });
      const error = await rejectionOf(streamed(client));
      expect(error).toMatchObject({ errorType: 'timeout', attempts: 2 });
      expect(error.message).toMatch(/^LLM proxy did not answer within 100 ms/);
      expect(error.timeToFirstChunkMs).toBeUndefined();
    });

    it('fails at once, without a retry, when the stream breaks off after its first chunk', async () => {
      simulator.setOptions({ dropStreamAfterChunks: 2 });
      const client = await clientFor({ LLM_PROXY_URL: simulator.url, LLM_MAX_RETRIES: '3' });
      const deltas: string[] = [];
      const error = await rejectionOf(
        client.chat(question('Tell me a story'), {
          stream: true,
          onTextDelta: (text) => deltas.push(text),
        }),
      );
      expect(error).toMatchObject({ errorType: 'network', attempts: 1 });
      expect(error.message).toMatch(/^LLM proxy stream broke off/);
      expect(error.timeToFirstChunkMs).toBeGreaterThanOrEqual(0);
      expect(deltas).toHaveLength(1);
      expect(simulator.requests).toHaveLength(1);
      expect(await llmRequests('error')).toBe(1);
      const samples = await current().samples();
      expect(
        sampleValue(samples, 'llm_time_to_first_token_seconds_count', { model: 'gpt-4o-mini' }),
      ).toBe(1);
    });

    it('times out a stream silent for LLM_TIMEOUT_MS between chunks, and does not retry it', async () => {
      simulator.setOptions({ chunkLatencyMs: 600 });
      const client = await clientFor({
        LLM_PROXY_URL: simulator.url,
        LLM_TIMEOUT_MS: '200',
        LLM_MAX_RETRIES: '2',
      });
      const error = await rejectionOf(streamed(client));
      expect(error).toMatchObject({ errorType: 'timeout', attempts: 1 });
      expect(error.message).toBe('LLM proxy stream went silent for 200 ms');
      expect(simulator.requests).toHaveLength(1);
    });

    it('does not time out a stream that keeps writing, however long it takes in all', async () => {
      simulator.setOptions({ chunkLatencyMs: 60 });
      const client = await clientFor({ LLM_PROXY_URL: simulator.url, LLM_TIMEOUT_MS: '150' });
      const started = performance.now();
      const { response } = await streamed(client, question('one two three four five six'));
      expect(performance.now() - started).toBeGreaterThan(300);
      expect(response.finishReason).toBe('stop');
    });

    it('aborts a stream when its signal aborts: cancelled, never retried', async () => {
      simulator.setOptions({ chunkLatencyMs: 5000 });
      const client = await clientFor({ LLM_PROXY_URL: simulator.url, LLM_MAX_RETRIES: '3' });
      const controller = new AbortController();
      const abortedBefore = simulator.abortedChatRequestCount;
      setTimeout(() => controller.abort(new Error('client gone')), 100);
      const started = performance.now();
      const error = await rejectionOf(streamed(client, question(), controller.signal));
      expect(performance.now() - started).toBeLessThan(2000);
      expect(error).toMatchObject({ errorType: 'cancelled', attempts: 1 });
      expect(await llmRequests('cancelled')).toBe(1);
      expect(simulator.requests).toHaveLength(1);
      await waitFor(() => simulator.abortedChatRequestCount === abortedBefore + 1);
    });

    it.each([
      ['data that is not JSON', 'data: {not json\n\n'],
      ['no chunk at all', ': only a comment\n\n'],
      ['an error chunk', 'data: {"error":{"message":"upstream died"}}\n\n'],
    ])('fails a stream with %s as invalid_response, without a retry', async (_case, body) => {
      const server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(body);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      let requests = 0;
      server.on('request', () => requests++);
      try {
        const client = await clientFor({
          LLM_PROXY_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          LLM_MAX_RETRIES: '2',
        });
        const error = await rejectionOf(streamed(client));
        expect(error.errorType).toBe('invalid_response');
        expect(error.message).toMatch(/^LLM proxy sent an invalid stream/);
        expect(requests).toBe(1);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('fails a stream that ends before the answer is complete', async () => {
      const server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(
          `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'Hal' } }] })}\n\n`,
        );
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const client = await clientFor({
          LLM_PROXY_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        });
        const error = await rejectionOf(streamed(client));
        expect(error).toMatchObject({ errorType: 'network', attempts: 1 });
        expect(error.message).toBe('LLM proxy stream ended before the answer was complete');
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });

  it('throws LlmNotConfiguredError before any I/O when no proxy is configured', async () => {
    const client = await clientFor({});
    const fetchSpy = jest.spyOn(globalThis, 'fetch');
    expect(client.configured).toBe(false);
    await expect(client.chat(question())).rejects.toBeInstanceOf(LlmNotConfiguredError);
    expect(fetchSpy).not.toHaveBeenCalled();
    expect(await llmRequests('error')).toBeUndefined();
    expect(current().logs.events('llm.request.failed')).toEqual([]);
  });
});
