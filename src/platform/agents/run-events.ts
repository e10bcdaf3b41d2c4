import type { ChatUsage, ToolCall } from '../llm';

/**
 * What a run that someone watches tells them while it works, step by step:
 * the events of a streamed run. A step is one model call and the tools it
 * asked for; its events come in this order: stepStarted, messageDelta for
 * each piece of the model's text as it arrives, toolStarted and
 * toolCompleted for each tool call, stepCompleted. The sink must not throw:
 * the run does not wait for, nor fail with, its watcher.
 */
export interface RunEventSink {
  stepStarted(step: number): void;
  messageDelta(step: number, content: string): void;
  toolStarted(step: number, call: ToolCall): void;
  toolCompleted(step: number, call: ToolCall, outcome: ToolOutcome): void;
  stepCompleted(step: number, usage: ChatUsage, finishReason: string): void;
}

export interface ToolOutcome {
  readonly success: boolean;
  /** What the model gets back (an `Error: ...` text when the call failed). */
  readonly result: string;
}
