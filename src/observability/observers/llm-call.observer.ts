import { Injectable } from '@nestjs/common';
import { SpanKind } from '@opentelemetry/api';
import type { Attributes, Span } from '@opentelemetry/api';
import { GEN_AI_OPERATION, LOG_EVENTS, SPAN_NAME } from '../catalog';
import type { LlmCallFailureReport, LlmCallReport, LlmCallSubject } from '../catalog';
import { currentRequestContext } from '../context';
import { PinoLogger } from '../logging';
import { MetricsService } from '../metrics';
import {
  ATTR,
  captureMessageContent,
  GEN_AI_PROVIDER,
  observedSpan,
  recordSpanError,
  toInputMessages,
  toOutputMessages,
} from '../telemetry';
import type { SpanPlan } from '../telemetry';

/**
 * One logical model call (however many HTTP attempts it took), reported
 * once: the `chat {model}` CLIENT span, the llm_* metrics and one
 * llm.request.* log line, with its total duration and the attempt count. The
 * requested model labels successes and failures alike, so one model's series
 * stay together. The LLM client's @TraceLlmCall calls it.
 */
@Injectable()
export class LlmCallObserver {
  constructor(
    private readonly metrics: MetricsService,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('LlmClient');
  }

  async observe<R>(
    subject: LlmCallSubject,
    call: () => Promise<R>,
    report: (result: R) => LlmCallReport,
    failure: (error: unknown) => LlmCallFailureReport,
  ): Promise<R> {
    return observedSpan(
      () => spanPlan(subject),
      async (span) => {
        const started = performance.now();
        let result: R;
        try {
          result = await call();
        } catch (error) {
          this.failed(span, subject, failure(error), performance.now() - started);
          throw error;
        }
        this.succeeded(span, subject, report(result), performance.now() - started);
        return result;
      },
    );
  }

  private succeeded(
    span: Span | undefined,
    subject: LlmCallSubject,
    report: LlmCallReport,
    durationMs: number,
  ): void {
    const { promptTokens, completionTokens, estimated } = report.usage;
    this.metrics.recordLlmRequest({
      model: subject.model,
      tenantId: currentRequestContext()?.tenantId,
      status: 'success',
      durationSeconds: durationMs / 1000,
      promptTokens,
      completionTokens,
      timeToFirstTokenSeconds: seconds(report.timeToFirstChunkMs),
    });
    this.logger.info(
      {
        event: LOG_EVENTS.llmRequestCompleted,
        model: subject.model,
        response_model: report.responseModel,
        status: 'success',
        duration_ms: Math.round(durationMs),
        ...streamFields(subject, report.timeToFirstChunkMs),
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        usage_estimated: estimated,
        finish_reason: report.finishReason,
        attempts: report.attempts,
      },
      'LLM request completed',
    );
    if (!span?.isRecording()) return;
    setTimeToFirstChunk(span, report.timeToFirstChunkMs);
    span.setAttributes({
      [ATTR.genAiResponseModel]: report.responseModel,
      [ATTR.genAiResponseFinishReasons]: [report.finishReason],
      [ATTR.genAiUsageInputTokens]: promptTokens,
      [ATTR.genAiUsageOutputTokens]: completionTokens,
    });
    if (report.responseId !== '') span.setAttribute(ATTR.genAiResponseId, report.responseId);
    if (captureMessageContent()) {
      span.setAttribute(
        ATTR.genAiOutputMessages,
        JSON.stringify(toOutputMessages(report.message, report.finishReason)),
      );
    }
  }

  private failed(
    span: Span | undefined,
    subject: LlmCallSubject,
    failure: LlmCallFailureReport,
    durationMs: number,
  ): void {
    // A failed call reports no usage; counting guessed tokens here would inflate llm_tokens_total.
    this.metrics.recordLlmRequest({
      model: subject.model,
      tenantId: currentRequestContext()?.tenantId,
      status: failure.cancelled ? 'cancelled' : 'error',
      durationSeconds: durationMs / 1000,
      promptTokens: 0,
      completionTokens: 0,
      timeToFirstTokenSeconds: seconds(failure.timeToFirstChunkMs),
    });
    const fields = {
      model: subject.model,
      status: failure.cancelled ? 'cancelled' : 'error',
      duration_ms: Math.round(durationMs),
      ...streamFields(subject, failure.timeToFirstChunkMs),
      prompt_tokens: 0,
      completion_tokens: 0,
      attempts: failure.attempts,
      error_type: failure.errorType,
      http_status: failure.httpStatus,
    };
    if (failure.cancelled) {
      this.logger.info(
        { event: LOG_EVENTS.llmRequestCancelled, ...fields },
        'LLM request cancelled',
      );
    } else if (failure.unexpected) {
      this.logger.error(
        { event: LOG_EVENTS.llmRequestFailed, ...fields, err: failure.error },
        'LLM request failed',
      );
    } else {
      this.logger.warn({ event: LOG_EVENTS.llmRequestFailed, ...fields }, 'LLM request failed');
    }
    if (!span) return;
    if (span.isRecording()) setTimeToFirstChunk(span, failure.timeToFirstChunkMs);
    recordSpanError(span, failure.error, failure.errorType);
  }
}

function seconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}

/** Only a streamed call's line says so, with the time to its first chunk when one came. */
function streamFields(
  subject: LlmCallSubject,
  timeToFirstChunkMs: number | undefined,
): { stream?: true; time_to_first_chunk_ms?: number } {
  if (!subject.stream) return {};
  if (timeToFirstChunkMs === undefined) return { stream: true };
  return { stream: true, time_to_first_chunk_ms: Math.round(timeToFirstChunkMs) };
}

function setTimeToFirstChunk(span: Span, timeToFirstChunkMs: number | undefined): void {
  if (timeToFirstChunkMs === undefined) return;
  span.setAttribute(ATTR.genAiResponseTimeToFirstChunk, timeToFirstChunkMs / 1000);
}

function spanPlan(subject: LlmCallSubject): SpanPlan {
  const attributes: Attributes = {
    [ATTR.genAiOperationName]: GEN_AI_OPERATION.chat,
    [ATTR.genAiProviderName]: GEN_AI_PROVIDER,
    [ATTR.genAiRequestModel]: subject.model,
    [ATTR.genAiRequestStream]: subject.stream,
  };
  if (subject.maxTokens !== undefined) attributes[ATTR.genAiRequestMaxTokens] = subject.maxTokens;
  if (captureMessageContent()) {
    attributes[ATTR.genAiInputMessages] = JSON.stringify(toInputMessages(subject.messages));
  }
  return { name: SPAN_NAME.chat(subject.model), kind: SpanKind.CLIENT, attributes };
}
