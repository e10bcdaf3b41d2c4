import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import { storableText } from '../../common';
import type { ErrorBody } from '../../common';
import type { ChatUsage, ToolCall } from '../llm';
import type { RunView } from './agent.views';
import type { RunEventSink, ToolOutcome } from './run-events';

/** The events of a streamed run, in the order they can come (see docs/api.md). */
export const RUN_EVENTS = {
  created: 'run.created',
  stepStarted: 'step.started',
  messageDelta: 'message.delta',
  toolStarted: 'tool.started',
  toolCompleted: 'tool.completed',
  stepCompleted: 'step.completed',
  completed: 'run.completed',
  failed: 'run.failed',
} as const;

/**
 * A comment line after this long without an event: proxies and load
 * balancers close connections idle for 60 s or so, and a tool or a slow model
 * can keep a run quiet for longer.
 */
export const RUN_STREAM_HEARTBEAT_MS = 15_000;

/** What a streamed run's answer carries besides X-Request-ID. */
export const RUN_STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  // nginx (and ingress-nginx) would otherwise buffer the answer and deliver it at the end.
  'x-accel-buffering': 'no',
} as const;

export interface RunEventStreamOptions {
  /** Tool arguments and results go out only with content capture on, as in the traces and logs. */
  readonly captureContent: boolean;
  readonly heartbeatMs?: number;
}

/**
 * A run's events as server-sent events: `event: <name>` and one `data:` line
 * of JSON each, a `: ping` comment whenever it has been quiet for the
 * heartbeat interval, and the end of the stream after run.completed or
 * run.failed. The stored run closes the stream in the same shape as the
 * blocking answer (the run; the error body with the run), so a client reads
 * one format either way. A client that has gone is not written to; nothing
 * here throws into the run.
 */
export class RunEventStream implements RunEventSink {
  private readonly stream = new PassThrough();
  private readonly heartbeatMs: number;
  private heartbeat: NodeJS.Timeout | undefined;
  private runId = '';

  constructor(private readonly options: RunEventStreamOptions) {
    this.heartbeatMs = options.heartbeatMs ?? RUN_STREAM_HEARTBEAT_MS;
    // A client that left destroys the stream under us: that is not an error of the run.
    this.stream.on('error', () => undefined);
    this.stream.on('close', () => clearTimeout(this.heartbeat));
  }

  /** The body to send. */
  get body(): Readable {
    return this.stream;
  }

  created(run: RunView): void {
    this.runId = run.id;
    this.send(RUN_EVENTS.created, run);
  }

  stepStarted(step: number): void {
    this.send(RUN_EVENTS.stepStarted, { run_id: this.runId, step });
  }

  messageDelta(step: number, content: string): void {
    // Cleaned as the stored output is, so the deltas add up to it.
    this.send(RUN_EVENTS.messageDelta, {
      run_id: this.runId,
      step,
      content: storableText(content),
    });
  }

  toolStarted(step: number, call: ToolCall): void {
    this.send(RUN_EVENTS.toolStarted, {
      ...this.toolFields(step, call),
      ...(this.options.captureContent ? { arguments: call.function.arguments } : {}),
    });
  }

  toolCompleted(step: number, call: ToolCall, outcome: ToolOutcome): void {
    this.send(RUN_EVENTS.toolCompleted, {
      ...this.toolFields(step, call),
      success: outcome.success,
      ...(this.options.captureContent ? { result: storableText(outcome.result) } : {}),
    });
  }

  stepCompleted(step: number, usage: ChatUsage, finishReason: string): void {
    this.send(RUN_EVENTS.stepCompleted, {
      run_id: this.runId,
      step,
      finish_reason: finishReason,
      usage: {
        prompt_tokens: usage.promptTokens,
        completion_tokens: usage.completionTokens,
        total_tokens: usage.totalTokens,
        estimated: usage.estimated,
      },
    });
  }

  /** The run ended with `success` or `max_steps`: the stored run, then the end. */
  completed(run: RunView): void {
    this.send(RUN_EVENTS.completed, run);
    this.end();
  }

  /** The run ended otherwise: the error body (with the stored run), then the end. */
  failed(body: ErrorBody): void {
    this.send(RUN_EVENTS.failed, body);
    this.end();
  }

  private toolFields(step: number, call: ToolCall) {
    return { run_id: this.runId, step, tool_call_id: call.id, name: call.function.name };
  }

  private send(event: string, data: unknown): void {
    this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private write(text: string): void {
    if (!this.open) return;
    this.stream.write(text);
    this.armHeartbeat();
  }

  private armHeartbeat(): void {
    clearTimeout(this.heartbeat);
    this.heartbeat = setTimeout(() => this.write(': ping\n\n'), this.heartbeatMs);
    this.heartbeat.unref();
  }

  private end(): void {
    clearTimeout(this.heartbeat);
    if (this.open) this.stream.end();
  }

  private get open(): boolean {
    return !this.stream.destroyed && !this.stream.writableEnded;
  }
}
