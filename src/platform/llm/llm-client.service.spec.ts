import { Logger } from '@nestjs/common';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Env, loadConfig } from '../../config';
import type { MetricsService } from '../../observability/metrics';
import { LlmSimulator, startLlmSimulator } from '../../../tools/llm-simulator';
import { estimateCompletionTokens, estimatePromptTokens } from './chat-usage';
import { LlmClient } from './llm-client.service';
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

function metricsSpy(): MetricsService & { recordLlmRequest: jest.Mock } {
  return { recordLlmRequest: jest.fn() } as unknown as MetricsService & {
    recordLlmRequest: jest.Mock;
  };
}

/** An LlmClient on the real config parser, with millisecond backoff so retries stay quick. */
function clientFor(env: Env, metrics = metricsSpy()): LlmClient {
  return new LlmClient(loadConfig(env), metrics, {
    baseDelayMs: 1,
    maxDelayMs: 5,
    maxRetryAfterMs: 20,
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
  let logSpy: jest.SpyInstance;
  let warnSpy: jest.SpyInstance;

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
    });
    simulator.clearRequests();
    logSpy = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    warnSpy = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('returns the answer, the proxy-reported usage and the model the proxy names', async () => {
    simulator.setOptions({ answerModel: 'gpt-4o-mini-2024-07-18' });
    const metrics = metricsSpy();
    const response = await clientFor({ LLM_PROXY_URL: simulator.url }, metrics).chat(
      question('Hello there'),
    );
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
    expect(metrics.recordLlmRequest).toHaveBeenCalledTimes(1);
    expect(metrics.recordLlmRequest).toHaveBeenCalledWith({
      model: 'gpt-4o-mini',
      status: 'success',
      durationSeconds: expect.any(Number),
      promptTokens,
      completionTokens,
    });
  });

  it('offers the tools with tool_choice auto and returns the tool calls', async () => {
    const response = await clientFor({
      LLM_PROXY_URL: simulator.url,
      LLM_PROXY_API_KEY: 'sk-test',
    }).chat(question('What is (2+3)*4?', [CALCULATOR]));
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
    await clientFor({ LLM_PROXY_URL: simulator.url }).chat(question('Hi', []));
    expect(simulator.requests[0].body).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(simulator.requests[0].headers.authorization).toBeUndefined();
  });

  it('logs one completion line with the attempts and never the prompt or completion text', async () => {
    await clientFor({ LLM_PROXY_URL: simulator.url }).chat(question());
    const lines = logSpy.mock.calls.filter(([fields]) => fields?.event === 'llm.request.completed');
    expect(lines).toHaveLength(1);
    expect(lines[0][0]).toMatchObject({
      model: 'gpt-4o-mini',
      status: 'success',
      duration_ms: expect.any(Number),
      prompt_tokens: expect.any(Number),
      completion_tokens: expect.any(Number),
      attempts: 1,
    });
    expect(JSON.stringify(logSpy.mock.calls)).not.toContain('hunter2');
  });

  it('retries 5xx answers with backoff and records the call once', async () => {
    simulator.setOptions({ failNext: 2, failureStatus: 503 });
    const metrics = metricsSpy();
    const response = await clientFor(
      { LLM_PROXY_URL: simulator.url, LLM_MAX_RETRIES: '2' },
      metrics,
    ).chat(question());
    expect(response.finishReason).toBe('stop');
    expect(simulator.requests).toHaveLength(3);
    expect(metrics.recordLlmRequest).toHaveBeenCalledTimes(1);
    expect(metrics.recordLlmRequest.mock.calls[0][0].status).toBe('success');
    const completed = logSpy.mock.calls.find(
      ([fields]) => fields?.event === 'llm.request.completed',
    );
    expect(completed?.[0].attempts).toBe(3);
  });

  it('gives up after LLM_MAX_RETRIES retries with http_<status> and records one error', async () => {
    simulator.setOptions({ failNext: 10, failureStatus: 500 });
    const metrics = metricsSpy();
    const error = await rejectionOf(
      clientFor({ LLM_PROXY_URL: simulator.url, LLM_MAX_RETRIES: '1' }, metrics).chat(question()),
    );
    expect(error).toMatchObject({ errorType: 'http_500', status: 500 });
    expect(error.message).toContain('Simulated upstream failure');
    expect(simulator.requests).toHaveLength(2);
    expect(metrics.recordLlmRequest).toHaveBeenCalledTimes(1);
    expect(metrics.recordLlmRequest).toHaveBeenCalledWith({
      model: 'gpt-4o-mini',
      status: 'error',
      durationSeconds: expect.any(Number),
      promptTokens: 0,
      completionTokens: 0,
    });
    const failed = warnSpy.mock.calls.find(([fields]) => fields?.event === 'llm.request.failed');
    expect(failed?.[0]).toMatchObject({ error_type: 'http_500', attempts: 2, status: 'error' });
    expect(JSON.stringify(warnSpy.mock.calls)).not.toContain('hunter2');
  });

  it('retries 429 and honours Retry-After up to its cap', async () => {
    simulator.setOptions({ failNext: 1, failureStatus: 429, retryAfterSeconds: 3600 });
    const response = await clientFor({ LLM_PROXY_URL: simulator.url }).chat(question('Hi'));
    expect(response.finishReason).toBe('stop');
    expect(simulator.requests).toHaveLength(2);
  });

  it.each([400, 401, 404, 422])('does not retry a %i answer', async (status) => {
    simulator.setOptions({ failNext: 1, failureStatus: status });
    const error = await rejectionOf(
      clientFor({ LLM_PROXY_URL: simulator.url, LLM_MAX_RETRIES: '3' }).chat(question()),
    );
    expect(error).toMatchObject({ errorType: `http_${status}`, status });
    expect(simulator.requests).toHaveLength(1);
  });

  it('times out a hung proxy per attempt, retries, then fails with errorType timeout', async () => {
    simulator.setOptions({ hang: true });
    const error = await rejectionOf(
      clientFor({ LLM_PROXY_URL: simulator.url, LLM_TIMEOUT_MS: '100', LLM_MAX_RETRIES: '1' }).chat(
        question(),
      ),
    );
    expect(error).toMatchObject({ errorType: 'timeout', name: 'LlmRequestError' });
    expect(error.message).toContain('100 ms');
    expect(simulator.requests).toHaveLength(2);
  });

  it('fails with errorType network when nothing listens, after the retries', async () => {
    const { url, server } = await startRawServer(200, '{}');
    await new Promise((resolve) => server.close(resolve));
    const metrics = metricsSpy();
    const error = await rejectionOf(
      clientFor({ LLM_PROXY_URL: url, LLM_MAX_RETRIES: '2' }, metrics).chat(question()),
    );
    expect(error).toMatchObject({ errorType: 'network' });
    expect(error.message).toContain('ECONNREFUSED');
    const failed = warnSpy.mock.calls.find(([fields]) => fields?.event === 'llm.request.failed');
    expect(failed?.[0].attempts).toBe(3);
    expect(metrics.recordLlmRequest).toHaveBeenCalledTimes(1);
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
      const error = await rejectionOf(clientFor({ LLM_PROXY_URL: url }).chat(question()));
      expect(error.errorType).toBe('invalid_response');
      expect(requests).toBe(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('estimates usage from the text when the proxy reports none, and flags it', async () => {
    simulator.setOptions({ omitUsage: true });
    const metrics = metricsSpy();
    const request = question('What is (2+3)*4?', [CALCULATOR]);
    const response = await clientFor({ LLM_PROXY_URL: simulator.url }, metrics).chat(request);
    expect(response.usage.estimated).toBe(true);
    expect(response.usage.promptTokens).toBe(estimatePromptTokens(request));
    expect(response.usage.completionTokens).toBe(estimateCompletionTokens(response.message));
    expect(response.usage.promptTokens).toBeGreaterThan(0);
    expect(response.usage.completionTokens).toBeGreaterThan(0);
    expect(metrics.recordLlmRequest.mock.calls[0][0]).toMatchObject({
      promptTokens: response.usage.promptTokens,
      completionTokens: response.usage.completionTokens,
    });
  });

  it('falls back to the requested model and an estimate when the answer omits them', async () => {
    const { url, server } = await startRawServer(
      200,
      '{"choices":[{"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":0,"completion_tokens":0}}',
    );
    try {
      const response = await clientFor({ LLM_PROXY_URL: url }).chat(question('Hello'));
      expect(response.model).toBe('gpt-4o-mini');
      expect(response.usage).toMatchObject({ estimated: true, completionTokens: 1 });
      expect(response.usage.promptTokens).toBeGreaterThan(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('throws LlmNotConfiguredError before any I/O when no proxy is configured', async () => {
    const fetchSpy = jest.spyOn(globalThis, 'fetch');
    const metrics = metricsSpy();
    const client = clientFor({}, metrics);
    expect(client.configured).toBe(false);
    await expect(client.chat(question())).rejects.toBeInstanceOf(LlmNotConfiguredError);
    expect(fetchSpy).not.toHaveBeenCalled();
    expect(metrics.recordLlmRequest).not.toHaveBeenCalled();
  });
});
