import { Injectable } from '@nestjs/common';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Attributes, Span } from '@opentelemetry/api';
import { GEN_AI_OPERATION, LOG_EVENTS, SPAN_NAME } from '../catalog';
import type {
  FailureReport,
  ToolCallRefusal,
  ToolCallRejection,
  ToolCallSubject,
} from '../catalog';
import { PinoLogger } from '../logging';
import { MetricsService } from '../metrics';
import {
  ATTR,
  captureMessageContent,
  GEN_AI_TOOL_TYPE_FUNCTION,
  observedSpan,
  recordSpanError,
} from '../telemetry';
import type { SpanPlan } from '../telemetry';

/**
 * A tool call the model asked for, reported once: the `execute_tool {tool}`
 * span, tool_calls_total / tool_duration_seconds and one tool.execute.* log
 * line (without the arguments or the result). Tool providers' @TraceTool
 * calls observe(); a call that never reaches a tool gets its span too:
 * refused() for a tool the agent may not use (or that does not exist),
 * rejected() for arguments that are not a JSON object.
 */
@Injectable()
export class ToolCallObserver {
  constructor(
    private readonly metrics: MetricsService,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('ToolRegistry');
  }

  async observe(
    subject: ToolCallSubject,
    call: () => Promise<string>,
    failure: (error: unknown) => FailureReport,
  ): Promise<string> {
    return observedSpan(
      () => spanPlan(subject),
      async (span) => {
        const started = performance.now();
        let result: string;
        try {
          result = await call();
        } catch (error) {
          this.failed(span, subject, failure(error), performance.now() - started);
          throw error;
        }
        this.record(subject, true, performance.now() - started);
        if (span?.isRecording() && captureMessageContent()) {
          span.setAttribute(ATTR.genAiToolCallResult, result);
        }
        return result;
      },
    );
  }

  /** Arguments the tool cannot take: its span (ERROR), its failed sample and its log line. */
  async rejected(subject: ToolCallSubject, reason: ToolCallRejection): Promise<void> {
    await this.neverRan(subject, reason, () => this.record(subject, false, 0, reason));
  }

  /**
   * A tool the agent may not use: counted as a failed call of the name the
   * metrics know (registered or the unknown label), logged as a refusal with
   * the name the model asked for, which may be anything, so it is shortened.
   */
  async refused(
    subject: ToolCallSubject,
    reason: ToolCallRefusal,
    requestedName: string,
  ): Promise<void> {
    await this.neverRan(subject, reason, () => {
      this.metrics.recordToolCall({
        toolName: subject.toolName,
        success: false,
        durationSeconds: 0,
      });
      this.logger.warn(
        {
          event: LOG_EVENTS.toolExecuteRefused,
          tool_name: subject.toolName,
          requested_name: requestedName,
          reason,
          success: false,
          tool_call_id: subject.callId,
        },
        'Tool call refused',
      );
    });
  }

  private async neverRan(
    subject: ToolCallSubject,
    reason: string,
    report: () => void,
  ): Promise<void> {
    await observedSpan(
      () => spanPlan(subject),
      (span) => {
        report();
        if (span?.isRecording()) {
          span.setAttribute(ATTR.errorType, reason);
          span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
        }
        return Promise.resolve();
      },
    );
  }

  private failed(
    span: Span | undefined,
    subject: ToolCallSubject,
    failure: FailureReport,
    durationMs: number,
  ): void {
    if (failure.unexpected) {
      // Internal failures (a database error...) can carry details the model must not see: only here.
      this.logger.error(
        {
          event: LOG_EVENTS.toolExecuteCrashed,
          tool_name: subject.toolName,
          tool_call_id: subject.callId,
          err: failure.error,
        },
        'Tool crashed',
      );
    }
    this.record(subject, false, durationMs, failure.errorType);
    if (span) recordSpanError(span, failure.error, failure.errorType);
  }

  private record(
    subject: ToolCallSubject,
    success: boolean,
    durationMs: number,
    errorType?: string,
  ): void {
    this.metrics.recordToolCall({
      toolName: subject.toolName,
      success,
      durationSeconds: durationMs / 1000,
    });
    const fields = {
      tool_name: subject.toolName,
      success,
      duration_ms: Math.round(durationMs * 100) / 100,
      tool_call_id: subject.callId,
    };
    if (success) {
      this.logger.info(
        { event: LOG_EVENTS.toolExecuteCompleted, ...fields },
        'Tool call completed',
      );
    } else {
      this.logger.warn(
        { event: LOG_EVENTS.toolExecuteFailed, ...fields, error_type: errorType },
        'Tool call failed',
      );
    }
  }
}

function spanPlan(subject: ToolCallSubject): SpanPlan {
  const attributes: Attributes = {
    [ATTR.genAiOperationName]: GEN_AI_OPERATION.executeTool,
    [ATTR.genAiToolName]: subject.toolName,
    [ATTR.genAiToolType]: GEN_AI_TOOL_TYPE_FUNCTION,
    [ATTR.genAiToolCallId]: subject.callId,
  };
  if (captureMessageContent() && subject.arguments !== undefined) {
    attributes[ATTR.genAiToolCallArguments] = JSON.stringify(subject.arguments);
  }
  return { name: SPAN_NAME.executeTool(subject.toolName), kind: SpanKind.INTERNAL, attributes };
}
