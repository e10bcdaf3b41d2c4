import 'reflect-metadata';
import {
  isSpanContextValid,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
} from '@opentelemetry/api';
import type { Attributes, Span } from '@opentelemetry/api';
import {
  ATTR,
  GEN_AI_OPERATION,
  GEN_AI_PROVIDER,
  GEN_AI_TOOL_TYPE_FUNCTION,
  SPAN_NAME,
} from './gen-ai.attributes';
import { toInputMessages, toOutputMessages } from './gen-ai.messages';
import { activeTracer, captureMessageContent } from './telemetry.state';
import { recordSpanError } from './with-span';

/*
 * Contracts the platform code relies on:
 * - @TraceAgent() on AgentRunner.execute(agent: { id, name, type }, input, ...): span `invoke_agent {agent.name}`;
 *   the resolved value is a RunOutcome ({ status, ... }); a status other than success/max_steps marks the span ERROR.
 * - @TraceLlmCall() on LlmClient.chat(request: ChatRequest): span `chat {request.model}` (kind CLIENT);
 *   the resolved ChatResponse carries model, usage and finishReason.
 * - @TraceTool() on AgentTool.execute(args, context: ToolContext): span `execute_tool {this.name}`
 *   with context.callId as gen_ai.tool.call.id.
 *
 * The shapes below are structural on purpose: the observability layer reads
 * what the platform hands it without importing the platform.
 */

interface AgentLike {
  id?: unknown;
  name?: unknown;
}

interface RunOutcomeLike {
  status?: unknown;
  output?: unknown;
  usage?: { promptTokens?: unknown; completionTokens?: unknown };
  error?: unknown;
}

interface ChatRequestLike {
  model?: unknown;
  messages?: unknown;
}

interface ChatResponseLike {
  id?: unknown;
  model?: unknown;
  message?: unknown;
  finishReason?: unknown;
  usage?: { promptTokens?: unknown; completionTokens?: unknown };
}

interface ToolContextLike {
  callId?: unknown;
}

/** Run statuses that are an answer, not a failure (SPEC section 4). */
const SUCCESSFUL_RUN_STATUSES = new Set(['success', 'max_steps']);

interface SpanPlan {
  name: string;
  kind: SpanKind;
  attributes: Attributes;
}

type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Marks AgentRunner.execute: an `invoke_agent {agent name}` span around the
 * whole run, ERROR when the run ends in anything but success or max_steps.
 */
export function TraceAgent(): MethodDecorator {
  return traceMethod(
    (_self, args) => {
      const agent = (args[0] ?? {}) as AgentLike;
      const name = stringOr(agent.name, 'agent');
      const attributes: Attributes = {
        [ATTR.genAiOperationName]: GEN_AI_OPERATION.invokeAgent,
        [ATTR.genAiProviderName]: GEN_AI_PROVIDER,
        [ATTR.genAiAgentName]: name,
      };
      if (typeof agent.id === 'string') {
        attributes[ATTR.genAiAgentId] = agent.id;
        attributes[ATTR.agentId] = agent.id;
      }
      if (captureMessageContent() && typeof args[1] === 'string') {
        attributes[ATTR.genAiInputMessages] = JSON.stringify([
          { role: 'user', parts: [{ type: 'text', content: args[1] }] },
        ]);
      }
      return { name: SPAN_NAME.invokeAgent(name), kind: SpanKind.INTERNAL, attributes };
    },
    (span, result) => {
      const outcome = (result ?? {}) as RunOutcomeLike;
      setUsage(span, outcome.usage);
      if (captureMessageContent() && typeof outcome.output === 'string') {
        span.setAttribute(
          ATTR.genAiOutputMessages,
          JSON.stringify([
            { role: 'assistant', parts: [{ type: 'text', content: outcome.output }] },
          ]),
        );
      }
      if (typeof outcome.status === 'string' && !SUCCESSFUL_RUN_STATUSES.has(outcome.status)) {
        span.setAttribute(ATTR.errorType, outcome.status);
        span.setStatus({ code: SpanStatusCode.ERROR, message: `run ended with ${outcome.status}` });
      }
    },
  );
}

/** Marks LlmClient.chat: a CLIENT span `chat {model}` with token usage and finish reasons. */
export function TraceLlmCall(): MethodDecorator {
  return traceMethod(
    (_self, args) => {
      const request = (args[0] ?? {}) as ChatRequestLike;
      const model = stringOr(request.model, 'unknown');
      const attributes: Attributes = {
        [ATTR.genAiOperationName]: GEN_AI_OPERATION.chat,
        [ATTR.genAiProviderName]: GEN_AI_PROVIDER,
        [ATTR.genAiRequestModel]: model,
      };
      if (captureMessageContent()) {
        attributes[ATTR.genAiInputMessages] = JSON.stringify(toInputMessages(request.messages));
      }
      return { name: SPAN_NAME.chat(model), kind: SpanKind.CLIENT, attributes };
    },
    (span, result) => {
      const response = (result ?? {}) as ChatResponseLike;
      if (typeof response.model === 'string') {
        span.setAttribute(ATTR.genAiResponseModel, response.model);
      }
      if (typeof response.id === 'string') span.setAttribute(ATTR.genAiResponseId, response.id);
      if (typeof response.finishReason === 'string') {
        span.setAttribute(ATTR.genAiResponseFinishReasons, [response.finishReason]);
      }
      setUsage(span, response.usage);
      if (captureMessageContent()) {
        span.setAttribute(
          ATTR.genAiOutputMessages,
          JSON.stringify(toOutputMessages(response.message, response.finishReason)),
        );
      }
    },
  );
}

/** Marks AgentTool.execute: `execute_tool {tool name}` with the model's call id. */
export function TraceTool(): MethodDecorator {
  return traceMethod(
    (self, args) => {
      const toolName = stringOr((self as { name?: unknown } | undefined)?.name, 'tool');
      const context = (args[1] ?? {}) as ToolContextLike;
      const attributes: Attributes = {
        [ATTR.genAiOperationName]: GEN_AI_OPERATION.executeTool,
        [ATTR.genAiToolName]: toolName,
        [ATTR.genAiToolType]: GEN_AI_TOOL_TYPE_FUNCTION,
      };
      if (typeof context.callId === 'string') attributes[ATTR.genAiToolCallId] = context.callId;
      if (captureMessageContent() && args[0] !== undefined) {
        attributes[ATTR.genAiToolCallArguments] = JSON.stringify(args[0]);
      }
      return { name: SPAN_NAME.executeTool(toolName), kind: SpanKind.INTERNAL, attributes };
    },
    (span, result) => {
      if (captureMessageContent() && typeof result === 'string') {
        span.setAttribute(ATTR.genAiToolCallResult, result);
      }
    },
  );
}

/**
 * Wraps a method in a span. With telemetry off, or inside a trace that is
 * not sampled, the original method is called directly: no span object, no
 * context switch. The wrapper keeps the method's name and Nest metadata, and
 * rethrows whatever the method throws.
 */
function traceMethod(
  plan: (self: unknown, args: unknown[]) => SpanPlan,
  onResult: (span: Span, result: unknown) => void,
): MethodDecorator {
  return (_target, propertyKey, descriptor: PropertyDescriptor) => {
    const original = descriptor.value as unknown;
    if (typeof original !== 'function') {
      throw new TypeError(`Tracing decorators apply to methods; ${String(propertyKey)} is not one`);
    }
    const method = original as AnyMethod;
    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      const tracer = activeTracer();
      if (!tracer || insideUnsampledTrace()) return method.apply(this, args);
      let spanPlan: SpanPlan;
      try {
        spanPlan = plan(this, args);
      } catch {
        // Telemetry never breaks the caller: a malformed argument is the method's business.
        return method.apply(this, args);
      }
      return tracer.startActiveSpan(
        spanPlan.name,
        { kind: spanPlan.kind, attributes: spanPlan.attributes },
        (span) => runInSpan(span, () => method.apply(this, args), onResult),
      );
    };
    Object.defineProperty(wrapped, 'name', { value: method.name });
    for (const key of Reflect.getMetadataKeys(method)) {
      Reflect.defineMetadata(key, Reflect.getMetadata(key, method), wrapped);
    }
    descriptor.value = wrapped;
    return descriptor;
  };
}

function runInSpan(
  span: Span,
  call: () => unknown,
  onResult: (span: Span, result: unknown) => void,
): unknown {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    recordSpanError(span, error);
    span.end();
    throw error;
  }
  if (isPromiseLike(result)) {
    return Promise.resolve(result).then(
      (value) => {
        finish(span, value, onResult);
        return value;
      },
      (error: unknown) => {
        recordSpanError(span, error);
        span.end();
        throw error;
      },
    );
  }
  finish(span, result, onResult);
  return result;
}

function finish(
  span: Span,
  result: unknown,
  onResult: (span: Span, result: unknown) => void,
): void {
  try {
    if (span.isRecording()) onResult(span, result);
  } catch {
    // A surprising result shape loses attributes, never the caller's value.
  } finally {
    span.end();
  }
}

/** True inside a trace the sampler already declined: children would not be recorded either. */
function insideUnsampledTrace(): boolean {
  const parent = trace.getActiveSpan()?.spanContext();
  return (
    parent !== undefined &&
    isSpanContextValid(parent) &&
    (parent.traceFlags & TraceFlags.SAMPLED) === 0
  );
}

function setUsage(span: Span, usage: RunOutcomeLike['usage']): void {
  if (!usage) return;
  if (typeof usage.promptTokens === 'number') {
    span.setAttribute(ATTR.genAiUsageInputTokens, usage.promptTokens);
  }
  if (typeof usage.completionTokens === 'number') {
    span.setAttribute(ATTR.genAiUsageOutputTokens, usage.completionTokens);
  }
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' && value !== '' ? value : fallback;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
