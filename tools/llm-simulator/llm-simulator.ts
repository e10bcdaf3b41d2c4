import { randomBytes } from 'node:crypto';
import {
  createServer,
  IncomingHttpHeaders,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  messageText,
  scriptAnswer,
  ScriptedAnswer,
  WireMessage,
  WireTool,
  WireToolCall,
} from './scripted-model';

/** What can be changed at start and at run time (setOptions, or POST /__simulator/options). */
export interface LlmSimulatorBehaviour {
  /** Added before every chat answer. */
  latencyMs: number;
  /** Share of chat requests (0..1) answered with `failureStatus`. */
  errorRate: number;
  /** Status of injected failures: 500, 429, 503, ... */
  failureStatus: number;
  /** Sent with injected 429/503 failures when set. */
  retryAfterSeconds: number | undefined;
  /** The next N chat requests fail with `failureStatus` (counts down), whatever errorRate says. */
  failNext: number;
  /** Accept chat requests and never answer them, until turned off. */
  hang: boolean;
  /** With `hang`, the health endpoints hang too. */
  hangHealth: boolean;
  /** Leave `usage` out of answers: the client has to estimate. */
  omitUsage: boolean;
  /** Keep calling tools after tool results (drives an agent into max_steps). */
  toolLoop: boolean;
  /** Answer under this model name instead of echoing the requested one (a proxy routing to a dated model). */
  answerModel: string | undefined;
  /**
   * Write past the request's max_tokens and report it in usage, as a proxy
   * that does not enforce the bound would (a real model stops at it).
   */
  ignoreMaxTokens: boolean;
  /** Streamed answers: the pause before each chunk after the first (a model writing token by token). */
  chunkLatencyMs: number;
  /**
   * Streamed answers: drop the connection after this many chunks, without the
   * rest or `[DONE]` (a proxy failing mid-answer); 0 never does.
   */
  dropStreamAfterChunks: number;
}

/** A chat request as a script sees it. */
export interface ScriptRequest {
  readonly model: string;
  readonly messages: readonly WireMessage[];
  readonly tools: readonly WireTool[] | undefined;
  /** max_completion_tokens, else max_tokens, when the request sets one. */
  readonly maxTokens: number | undefined;
}

/**
 * A hostile (or just scripted) model: answers whatever it returns, whatever
 * the request offered; undefined falls back to the built-in script.
 */
export type ChatScript = (request: ScriptRequest) => ScriptedAnswer | undefined;

export interface LlmSimulatorOptions extends Partial<LlmSimulatorBehaviour> {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** When set, every /v1 request needs `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Seed of the errorRate draws: the same seed fails the same requests. */
  seed?: number;
  /** Requests kept in `requests` (oldest dropped first). */
  maxRecordedRequests?: number;
  /** Answers chat requests instead of the built-in script (in-process use only). */
  script?: ChatScript;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** Lower-cased names, as Node parses them (authorization, traceparent, ...). */
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON body, when there was one. */
  readonly body: unknown;
  readonly receivedAt: Date;
}

export interface LlmSimulator {
  /** http://host:port, without a trailing slash. */
  readonly url: string;
  readonly port: number;
  readonly behaviour: Readonly<LlmSimulatorBehaviour>;
  setOptions(partial: Partial<LlmSimulatorBehaviour>): void;
  /** Replaces the script; undefined restores the built-in one. */
  setScript(script: ChatScript | undefined): void;
  /** The most recent requests, oldest first (bounded by maxRecordedRequests). */
  readonly requests: readonly RecordedRequest[];
  /** Chat-completion requests received since start (not bounded). */
  readonly chatRequestCount: number;
  /** Of those, the ones whose client closed the connection before the answer was sent (aborted calls). */
  readonly abortedChatRequestCount: number;
  clearRequests(): void;
  /** Stops listening and drops every open connection, hung ones included. */
  close(): Promise<void>;
}

const DEFAULT_BEHAVIOUR: LlmSimulatorBehaviour = {
  latencyMs: 0,
  errorRate: 0,
  failureStatus: 500,
  retryAfterSeconds: undefined,
  failNext: 0,
  hang: false,
  hangHealth: false,
  omitUsage: false,
  toolLoop: false,
  answerModel: undefined,
  ignoreMaxTokens: false,
  chunkLatencyMs: 0,
  dropStreamAfterChunks: 0,
};

const MAX_BODY_BYTES = 10 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

/** Mulberry32: tiny, seedable, good enough to pick which requests fail. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function promptTokens(messages: WireMessage[], tools: WireTool[] | undefined): number {
  let chars = 0;
  for (const message of messages) {
    chars += messageText(message.content).length;
    for (const call of message.tool_calls ?? []) {
      chars += (call.function?.name?.length ?? 0) + (call.function?.arguments?.length ?? 0);
    }
  }
  if (tools && tools.length > 0) chars += JSON.stringify(tools).length;
  // Role markers and separators cost a few tokens per message in real tokenizers.
  return Math.max(1, Math.ceil(chars / 4) + 3 * messages.length);
}

export function validateBehaviour(partial: Partial<LlmSimulatorBehaviour>): void {
  const { latencyMs, errorRate, failureStatus, failNext, retryAfterSeconds } = partial;
  const { chunkLatencyMs, dropStreamAfterChunks } = partial;
  for (const [name, value] of Object.entries({ latencyMs, chunkLatencyMs })) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new RangeError(`${name} must be a number >= 0, got ${String(value)}`);
    }
  }
  if (
    dropStreamAfterChunks !== undefined &&
    !(Number.isInteger(dropStreamAfterChunks) && dropStreamAfterChunks >= 0)
  ) {
    throw new RangeError(
      `dropStreamAfterChunks must be an integer >= 0, got ${String(dropStreamAfterChunks)}`,
    );
  }
  if (errorRate !== undefined && !(errorRate >= 0 && errorRate <= 1)) {
    throw new RangeError(`errorRate must be from 0 to 1, got ${String(errorRate)}`);
  }
  if (
    failureStatus !== undefined &&
    !(Number.isInteger(failureStatus) && failureStatus >= 400 && failureStatus <= 599)
  ) {
    throw new RangeError(
      `failureStatus must be an HTTP error status, got ${String(failureStatus)}`,
    );
  }
  if (failNext !== undefined && !(Number.isInteger(failNext) && failNext >= 0)) {
    throw new RangeError(`failNext must be an integer >= 0, got ${String(failNext)}`);
  }
  if (
    retryAfterSeconds !== undefined &&
    !(Number.isFinite(retryAfterSeconds) && retryAfterSeconds >= 0)
  ) {
    throw new RangeError(`retryAfterSeconds must be >= 0, got ${String(retryAfterSeconds)}`);
  }
}

function pickBehaviour(source: Partial<LlmSimulatorBehaviour>): Partial<LlmSimulatorBehaviour> {
  const picked: Partial<LlmSimulatorBehaviour> = {};
  for (const key of Object.keys(DEFAULT_BEHAVIOUR) as (keyof LlmSimulatorBehaviour)[]) {
    if (key in source) (picked as Record<string, unknown>)[key] = source[key];
  }
  return picked;
}

/**
 * An OpenAI-compatible chat-completions server with deterministic, tool-aware
 * answers and switchable failure modes, for tests, the demo and the benchmark.
 */
export async function startLlmSimulator(options: LlmSimulatorOptions = {}): Promise<LlmSimulator> {
  const behaviour: LlmSimulatorBehaviour = { ...DEFAULT_BEHAVIOUR };
  const initial = pickBehaviour(options);
  validateBehaviour(initial);
  Object.assign(behaviour, initial);
  const random = seededRandom(options.seed ?? 1);
  const maxRecorded = options.maxRecordedRequests ?? 1000;
  const requests: RecordedRequest[] = [];
  const hung = new Set<() => void>();
  let chatRequestCount = 0;
  let abortedChatRequestCount = 0;
  let script = options.script;

  const setOptions = (partial: Partial<LlmSimulatorBehaviour>): void => {
    const picked = pickBehaviour(partial);
    validateBehaviour(picked);
    Object.assign(behaviour, picked);
    if (!behaviour.hang) {
      // Held requests resume as if the upstream had just recovered.
      for (const release of [...hung]) release();
    }
  };

  const holdWhileHanging = (): Promise<void> =>
    new Promise((resolve) => {
      const release = (): void => {
        hung.delete(release);
        resolve();
      };
      hung.add(release);
    });

  const record = (req: IncomingMessage, path: string, body: unknown): void => {
    requests.push({
      method: req.method ?? 'GET',
      path,
      headers: { ...req.headers },
      body,
      receivedAt: new Date(),
    });
    if (requests.length > maxRecorded) requests.splice(0, requests.length - maxRecorded);
  };

  const authorize = (req: IncomingMessage): void => {
    if (options.apiKey === undefined) return;
    if (req.headers.authorization !== `Bearer ${options.apiKey}`) {
      throw new HttpError(
        401,
        'Incorrect API key provided.',
        'invalid_request_error',
        'invalid_api_key',
      );
    }
  };

  const handleChat = async (
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
  ): Promise<void> => {
    chatRequestCount++;
    res.once('close', () => {
      if (!res.writableFinished) abortedChatRequestCount++;
    });
    authorize(req);
    if (behaviour.hang) await holdWhileHanging();
    if (behaviour.latencyMs > 0) {
      // A client that gave up is not waited for: its timer would outlive the simulator's close.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, behaviour.latencyMs);
        res.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    let fail = false;
    if (behaviour.failNext > 0) {
      behaviour.failNext--;
      fail = true;
    } else if (behaviour.errorRate > 0) {
      fail = random() < behaviour.errorRate;
    }
    if (fail) {
      const status = behaviour.failureStatus;
      if (behaviour.retryAfterSeconds !== undefined && (status === 429 || status === 503)) {
        res.setHeader('retry-after', String(behaviour.retryAfterSeconds));
      }
      throw new HttpError(
        status,
        `Simulated upstream failure (${status})`,
        status === 429 ? 'rate_limit_error' : 'server_error',
        status === 429 ? 'rate_limit_exceeded' : null,
      );
    }
    const request = parseChatRequest(body);
    const answer =
      script?.({
        model: request.model,
        messages: request.messages,
        tools: request.tools,
        maxTokens: request.maxTokens,
      }) ?? scriptAnswer(request.messages, request.tools, { toolLoop: behaviour.toolLoop });
    const completion = buildCompletion(
      request,
      answer,
      behaviour.omitUsage,
      behaviour.ignoreMaxTokens ? undefined : request.maxTokens,
    );
    if (behaviour.answerModel) completion.model = behaviour.answerModel;
    if (request.stream) {
      await writeStream(res, completion, {
        includeUsage: request.includeUsage && !behaviour.omitUsage,
        chunkLatencyMs: behaviour.chunkLatencyMs,
        dropAfterChunks: behaviour.dropStreamAfterChunks,
      });
    } else {
      sendJson(res, 200, completion);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://simulator').pathname;
    const method = req.method ?? 'GET';
    const body = await readJsonBody(req);
    record(req, path, body);

    if (method === 'GET' && (path === '/health/liveliness' || path === '/health/readiness')) {
      if (behaviour.hang && behaviour.hangHealth) await holdWhileHanging();
      sendJson(res, 200, path === '/health/liveliness' ? "I'm alive!" : { status: 'healthy' });
      return;
    }
    if (method === 'POST' && (path === '/v1/chat/completions' || path === '/chat/completions')) {
      await handleChat(req, res, body);
      return;
    }
    if (method === 'GET' && (path === '/v1/models' || path === '/models')) {
      authorize(req);
      sendJson(res, 200, {
        object: 'list',
        data: [{ id: 'simulated', object: 'model', created: 0, owned_by: 'llm-simulator' }],
      });
      return;
    }
    if (path === '/__simulator/options' && (method === 'GET' || method === 'POST')) {
      authorize(req);
      if (method === 'POST') {
        if (typeof body !== 'object' || body === null) {
          throw new HttpError(400, 'Expected a JSON object of options', 'invalid_request_error');
        }
        try {
          setOptions(body);
        } catch (error) {
          throw new HttpError(400, (error as Error).message, 'invalid_request_error');
        }
      }
      sendJson(res, 200, behaviour);
      return;
    }
    throw new HttpError(404, `No route for ${method} ${path}`, 'invalid_request_error');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) return;
      if (error instanceof HttpError) {
        sendJson(res, error.status, {
          error: { message: error.message, type: error.type, param: null, code: error.code },
        });
        return;
      }
      sendJson(res, 500, {
        error: {
          message: 'Internal simulator error',
          type: 'server_error',
          param: null,
          code: null,
        },
      });
    });
  });
  // A request whose client gave up releases nothing: it is dropped with its socket.
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;

  return {
    url,
    port: address.port,
    get behaviour() {
      return { ...behaviour };
    },
    setOptions,
    setScript: (next) => {
      script = next;
    },
    get requests() {
      return [...requests];
    },
    get chatRequestCount() {
      return chatRequestCount;
    },
    get abortedChatRequestCount() {
      return abortedChatRequestCount;
    },
    clearRequests: () => {
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        hung.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface ParsedChatRequest {
  model: string;
  messages: WireMessage[];
  tools: WireTool[] | undefined;
  stream: boolean;
  includeUsage: boolean;
  maxTokens: number | undefined;
}

function parseChatRequest(body: unknown): ParsedChatRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'Request body must be a JSON object', 'invalid_request_error');
  }
  const { model, messages, tools, stream, stream_options, max_tokens, max_completion_tokens } =
    body as Record<string, unknown>;
  if (typeof model !== 'string' || model === '') {
    throw new HttpError(400, 'you must provide a model parameter', 'invalid_request_error');
  }
  if (
    !Array.isArray(messages) ||
    messages.length === 0 ||
    !messages.every(
      (message) =>
        typeof message === 'object' &&
        message !== null &&
        typeof (message as { role?: unknown }).role === 'string',
    )
  ) {
    throw new HttpError(
      400,
      "'messages' must be a non-empty array of {role, content}",
      'invalid_request_error',
    );
  }
  if (tools !== undefined && !Array.isArray(tools)) {
    throw new HttpError(400, "'tools' must be an array", 'invalid_request_error');
  }
  for (const [name, value] of Object.entries({ max_tokens, max_completion_tokens })) {
    if (value !== undefined && value !== null && !(Number.isInteger(value) && Number(value) >= 1)) {
      throw new HttpError(400, `'${name}' must be an integer >= 1`, 'invalid_request_error');
    }
  }
  return {
    model,
    messages: messages as WireMessage[],
    tools: tools as WireTool[] | undefined,
    stream: stream === true,
    includeUsage:
      typeof stream_options === 'object' &&
      stream_options !== null &&
      (stream_options as { include_usage?: unknown }).include_usage === true,
    maxTokens: (max_completion_tokens ?? max_tokens ?? undefined) as number | undefined,
  };
}

interface Completion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: 0;
    message: { role: 'assistant'; content: string | null; tool_calls?: WireToolCall[] };
    finish_reason: 'stop' | 'tool_calls' | 'length';
    logprobs: null;
  }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** ~4 characters a token, the usual rule of thumb for English and JSON. */
const CHARS_PER_TOKEN = 4;

/** `maxTokens` cuts a longer text answer where a real model stops: finish_reason `length`. */
function buildCompletion(
  request: ParsedChatRequest,
  answer: ScriptedAnswer,
  omitUsage: boolean,
  maxTokens: number | undefined,
): Completion {
  let message: Completion['choices'][0]['message'];
  let completionChars: number;
  let truncated = false;
  if (answer.kind === 'text') {
    let content = answer.content;
    if (maxTokens !== undefined && content.length > maxTokens * CHARS_PER_TOKEN) {
      content = content.slice(0, maxTokens * CHARS_PER_TOKEN);
      truncated = true;
    }
    message = { role: 'assistant', content };
    completionChars = content.length;
  } else {
    const toolCalls = answer.calls.map((call): WireToolCall => ({
      id: `call_${randomBytes(12).toString('hex')}`,
      type: 'function',
      function: { name: call.name, arguments: JSON.stringify(call.arguments) },
    }));
    message = { role: 'assistant', content: null, tool_calls: toolCalls };
    completionChars = toolCalls.reduce(
      (sum, call) => sum + call.function.name.length + call.function.arguments.length,
      0,
    );
  }
  const prompt = promptTokens(request.messages, request.tools);
  const completionTokens = Math.max(1, Math.ceil(completionChars / CHARS_PER_TOKEN));
  return {
    id: `chatcmpl-${randomBytes(12).toString('hex')}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    choices: [
      {
        index: 0,
        message,
        finish_reason: truncated ? 'length' : answer.kind === 'text' ? 'stop' : 'tool_calls',
        logprobs: null,
      },
    ],
    ...(omitUsage
      ? {}
      : {
          usage: {
            prompt_tokens: prompt,
            completion_tokens: completionTokens,
            total_tokens: prompt + completionTokens,
          },
        }),
  };
}

interface StreamOptions {
  readonly includeUsage: boolean;
  readonly chunkLatencyMs: number;
  /** 0: never. */
  readonly dropAfterChunks: number;
}

/**
 * OpenAI's streaming shape: role first, then content or tool-call deltas, a
 * finish chunk, usage, [DONE]. Chunks after the first wait chunkLatencyMs
 * each; a client that leaves stops the stream (no timer outlives it).
 */
async function writeStream(
  res: ServerResponse,
  completion: Completion,
  options: StreamOptions,
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  const base = {
    id: completion.id,
    object: 'chat.completion.chunk',
    created: completion.created,
    model: completion.model,
  };
  const chunk = (choices: unknown[], usage?: Completion['usage'] | null): string => {
    const body = options.includeUsage
      ? { ...base, choices, usage: usage ?? null }
      : { ...base, choices };
    return `data: ${JSON.stringify(body)}\n\n`;
  };
  const chunks = streamChunks(completion, chunk, options.includeUsage);
  for (let index = 0; index < chunks.length; index++) {
    if (index > 0 && options.chunkLatencyMs > 0) await pause(res, options.chunkLatencyMs);
    if (res.destroyed) return;
    if (index + 1 === options.dropAfterChunks) {
      // Cut mid-answer, as a proxy whose upstream died: no more chunks, no [DONE]. Only once
      // this chunk is out: destroying at once could discard it with the headers.
      res.write(chunks[index], () => res.destroy());
      return;
    }
    res.write(chunks[index]);
  }
  res.end('data: [DONE]\n\n');
}

function streamChunks(
  completion: Completion,
  chunk: (choices: unknown[], usage?: Completion['usage'] | null) => string,
  includeUsage: boolean,
): string[] {
  const chunks: string[] = [];
  const choice = completion.choices[0];
  chunks.push(
    chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]),
  );
  if (choice.message.content) {
    for (const piece of choice.message.content.match(/\S+\s*/g) ?? []) {
      chunks.push(chunk([{ index: 0, delta: { content: piece }, finish_reason: null }]));
    }
  }
  (choice.message.tool_calls ?? []).forEach((call, index) => {
    chunks.push(
      chunk([
        {
          index: 0,
          delta: {
            tool_calls: [
              {
                index,
                id: call.id,
                type: 'function',
                function: { name: call.function.name, arguments: '' },
              },
            ],
          },
          finish_reason: null,
        },
      ]),
    );
    // Arguments arrive in fragments, as real models stream them.
    for (const fragment of call.function.arguments.match(/.{1,8}/gs) ?? []) {
      chunks.push(
        chunk([
          {
            index: 0,
            delta: { tool_calls: [{ index, function: { arguments: fragment } }] },
            finish_reason: null,
          },
        ]),
      );
    }
  });
  chunks.push(chunk([{ index: 0, delta: {}, finish_reason: choice.finish_reason }]));
  if (includeUsage && completion.usage) chunks.push(chunk([], completion.usage));
  return chunks;
}

/** Waits ms, or less when the client leaves first. */
function pause(res: ServerResponse, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.once('close', done);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      throw new HttpError(413, 'Request body too large', 'invalid_request_error');
    }
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'Request body is not valid JSON', 'invalid_request_error');
  }
}
