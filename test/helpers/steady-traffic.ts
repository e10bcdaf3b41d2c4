/**
 * Steady client traffic for the resilience scenarios: a bounded loop of
 * concurrent requests (agent runs, GET /v1/info, GET /v1/budget), each bounded
 * by its own AbortSignal.timeout, recording every answer so a test can check
 * afterwards that none hung, none was a 500, every error had the documented shape,
 * and every run answered 201 is still on record.
 */

export type TrafficKind = 'run' | 'info' | 'budget';

export interface TrafficAnswer {
  readonly kind: TrafficKind;
  /** 0 when no HTTP answer arrived (see `failure`). */
  readonly status: number;
  readonly body: unknown;
  readonly text: string;
  /** `aborted`: the request outlived its timeout; `network`: the connection failed (the process is gone?). */
  readonly failure?: { readonly type: 'aborted' | 'network'; readonly message: string };
  readonly startedAt: number;
}

export interface TrafficOptions {
  readonly baseUrl: string;
  readonly key: string;
  readonly agentId: string;
  /** Concurrent loops per kind: runs must not starve the cheap endpoints when the LLM hangs. */
  readonly workers?: Partial<Record<TrafficKind, number>>;
  /** Bound on each request; a request still running then counts as hung. */
  readonly requestTimeoutMs: number;
  /** Hard bound on the number of requests, whatever stop() does. */
  readonly maxRequests?: number;
  /** Pause between one worker's requests, so the loop does not just saturate two cores. */
  readonly pauseMs?: number;
}

export interface SteadyTraffic {
  /** Every answer so far, in completion order. */
  readonly answers: readonly TrafficAnswer[];
  /** Answers of one kind and status. */
  count(kind: TrafficKind, status?: number): number;
  /** Stops issuing requests and resolves when every in-flight one has ended. */
  stop(): Promise<readonly TrafficAnswer[]>;
}

export const RUN_INPUT = 'What is 6*7?';

export function startSteadyTraffic(options: TrafficOptions): SteadyTraffic {
  const workers = { run: 2, info: 1, budget: 1, ...options.workers };
  const maxRequests = options.maxRequests ?? 5000;
  const pauseMs = options.pauseMs ?? 5;
  const answers: TrafficAnswer[] = [];
  let issued = 0;
  let stopping = false;

  const send = (kind: TrafficKind): Promise<TrafficAnswer> => {
    switch (kind) {
      case 'run':
        return boundedFetch(kind, options, `/v1/agents/${options.agentId}/runs`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${options.key}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ input: RUN_INPUT }),
        });
      case 'info':
        return boundedFetch(kind, options, '/v1/info', { method: 'GET' });
      case 'budget':
        return boundedFetch(kind, options, '/v1/budget', {
          method: 'GET',
          headers: { authorization: `Bearer ${options.key}` },
        });
    }
  };

  const loop = async (kind: TrafficKind): Promise<void> => {
    while (!stopping && issued < maxRequests) {
      issued++;
      answers.push(await send(kind));
      if (pauseMs > 0) await new Promise((wake) => setTimeout(wake, pauseMs));
    }
  };

  const loops: Promise<void>[] = [];
  for (const kind of ['run', 'info', 'budget'] as const) {
    for (let i = 0; i < workers[kind]; i++) loops.push(loop(kind));
  }
  const done = Promise.all(loops);

  return {
    answers,
    count: (kind, status) =>
      answers.filter((a) => a.kind === kind && (status === undefined || a.status === status))
        .length,
    stop: async () => {
      stopping = true;
      await done;
      return answers;
    },
  };
}

async function boundedFetch(
  kind: TrafficKind,
  options: TrafficOptions,
  path: string,
  init: RequestInit,
): Promise<TrafficAnswer> {
  const startedAt = Date.now();
  const signal = AbortSignal.timeout(options.requestTimeoutMs);
  try {
    const res = await fetch(`${options.baseUrl}${path}`, { ...init, signal });
    const text = await res.text();
    return { kind, status: res.status, body: parseJson(text), text, startedAt };
  } catch (error) {
    const type = signal.aborted ? 'aborted' : 'network';
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const message = `${(error as Error).message}${cause ? ` (${cause})` : ''}`;
    return { kind, status: 0, body: undefined, text: '', failure: { type, message }, startedAt };
  }
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

/**
 * What is wrong with the answers (empty when nothing): a request that hung or
 * found no listener, a status outside `allowed`, an error body without the
 * documented shape, or anything that looks like a stack trace.
 */
export function trafficProblems(
  answers: readonly TrafficAnswer[],
  allowed: readonly number[] = [200, 201, 429, 502, 503],
): string[] {
  const problems: string[] = [];
  for (const answer of answers) {
    const where = `${answer.kind} at +${answer.startedAt}`;
    if (answer.failure) {
      problems.push(`${where}: ${answer.failure.type}: ${answer.failure.message}`);
      continue;
    }
    if (!allowed.includes(answer.status)) {
      problems.push(`${where}: status ${answer.status}: ${answer.text.slice(0, 300)}`);
    }
    if (answer.status >= 400) {
      const shapeProblem = errorBodyProblem(answer.body, answer.status);
      if (shapeProblem) problems.push(`${where}: ${shapeProblem}: ${answer.text.slice(0, 300)}`);
    }
    if (looksLikeStack(answer.text)) problems.push(`${where}: stack trace in the body`);
  }
  return problems;
}

/** Why a body is not `{statusCode, error, message, request_id}` for `status` (undefined when it is). */
export function errorBodyProblem(body: unknown, status: number): string | undefined {
  if (typeof body !== 'object' || body === null) return 'error body is not a JSON object';
  const { statusCode, error, message, request_id } = body as Record<string, unknown>;
  if (statusCode !== status) return `statusCode ${String(statusCode)} != ${status}`;
  if (typeof error !== 'string' || error === '') return 'no error phrase';
  if (typeof message !== 'string' || message === '') return 'no message';
  if (typeof request_id !== 'string' || request_id === '') return 'no request_id';
  if ('stack' in body) return 'a stack field';
  return undefined;
}

export function looksLikeStack(text: string): boolean {
  return /\n\s+at .+\(.*:\d+:\d+\)/.test(text) || /"stack"\s*:/.test(text);
}

/** A run as the API shows it, for read-back comparison. */
export interface RunRecord {
  id: string;
  status: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** The runs that were answered 201 (the ones a client was told finished). */
export function completedRuns(answers: readonly TrafficAnswer[]): RunRecord[] {
  return answers
    .filter((a) => a.kind === 'run' && a.status === 201)
    .map((a) => a.body as RunRecord);
}

/**
 * Reads each run back with GET /v1/runs/:id (a few at a time) and lists the
 * ones that are missing or differ in status or usage.
 */
export async function lostRuns(
  baseUrl: string,
  key: string,
  runs: readonly RunRecord[],
  concurrency = 8,
): Promise<string[]> {
  const problems: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < runs.length) {
      const run = runs[next++];
      const res = await fetch(`${baseUrl}/v1/runs/${run.id}`, {
        headers: { authorization: `Bearer ${key}` },
        signal: AbortSignal.timeout(10_000),
      });
      const stored = (await res.json()) as RunRecord;
      if (res.status !== 200) {
        problems.push(`${run.id}: read back ${res.status}`);
      } else if (stored.status !== run.status) {
        problems.push(`${run.id}: stored status ${stored.status}, answered ${run.status}`);
      } else if (JSON.stringify(stored.usage) !== JSON.stringify(run.usage)) {
        problems.push(
          `${run.id}: stored usage ${JSON.stringify(stored.usage)}, answered ${JSON.stringify(run.usage)}`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return problems;
}
