import { Injectable } from '@nestjs/common';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Attributes, Span } from '@opentelemetry/api';
import { GEN_AI_OPERATION, isSuccessfulRunStatus, LOG_EVENTS, SPAN_NAME } from '../catalog';
import type { AgentRunReport, AgentRunSubject } from '../catalog';
import { bindAgentContext, currentRequestContext } from '../context';
import { PinoLogger } from '../logging';
import { MetricsService } from '../metrics';
import {
  ATTR,
  captureMessageContent,
  GEN_AI_PROVIDER,
  observedSpan,
  recordSpanError,
} from '../telemetry';
import type { SpanPlan } from '../telemetry';
import { failureReport } from './failure-report';

/**
 * An agent run, reported once: the `invoke_agent {agent}` span, the run
 * metrics (active_agent_runs, agent_run_duration_seconds, agent_steps_total)
 * and the agent.execute.* log lines. The runner's @TraceAgent calls it.
 */
@Injectable()
export class AgentRunObserver {
  constructor(
    private readonly metrics: MetricsService,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('AgentRunner');
  }

  async observe<R>(
    subject: AgentRunSubject,
    run: () => Promise<R>,
    report: (result: R) => AgentRunReport,
  ): Promise<R> {
    return observedSpan(
      () => spanPlan(subject),
      async (span) => {
        bindAgentContext(subject.agentId, subject.agentType);
        const finishActive = this.metrics.startAgentRun();
        this.logger.info(
          {
            event: LOG_EVENTS.agentExecuteStarted,
            agent_type: subject.agentType,
            model: subject.model,
            max_steps: subject.maxSteps,
          },
          'Starting agent execution',
        );
        const started = performance.now();
        let result: R;
        try {
          result = await run();
        } catch (error) {
          finishActive();
          this.threw(span, subject, error, performance.now() - started);
          throw error;
        }
        finishActive();
        this.ended(span, subject, report(result));
        return result;
      },
    );
  }

  private ended(span: Span | undefined, subject: AgentRunSubject, report: AgentRunReport): void {
    this.metrics.recordAgentRun({
      agentType: subject.agentType,
      tenantId: currentRequestContext()?.tenantId,
      status: report.status,
      durationSeconds: report.durationMs / 1000,
      steps: report.steps,
    });
    const fields = {
      status: report.status,
      steps: report.steps,
      duration_ms: report.durationMs,
      total_tokens: report.usage.totalTokens,
    };
    const failure = report.failure;
    if (isSuccessfulRunStatus(report.status)) {
      this.logger.info(
        { event: LOG_EVENTS.agentExecuteCompleted, ...fields },
        'Agent execution completed',
      );
    } else if (failure?.unexpected) {
      // Unexpected: logged once, here, with the stack.
      this.logger.error(
        { event: LOG_EVENTS.agentExecuteFailed, ...fields, err: failure.error },
        'Agent execution failed',
      );
    } else {
      this.logger.warn(
        {
          event: LOG_EVENTS.agentExecuteFailed,
          ...fields,
          error_type: report.errorType ?? failure?.errorType,
          error: report.error,
        },
        'Agent execution stopped',
      );
    }
    if (!span?.isRecording()) return;
    span.setAttributes({
      [ATTR.genAiUsageInputTokens]: report.usage.promptTokens,
      [ATTR.genAiUsageOutputTokens]: report.usage.completionTokens,
    });
    if (captureMessageContent() && report.output !== null) {
      span.setAttribute(
        ATTR.genAiOutputMessages,
        JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: report.output }] }]),
      );
    }
    if (!isSuccessfulRunStatus(report.status)) {
      // `cancelled` and `budget_exceeded` say what happened; `error` says it through its error type.
      const errorType = report.status === 'error' ? (report.errorType ?? 'error') : report.status;
      span.setAttribute(ATTR.errorType, errorType);
      span.setStatus({ code: SpanStatusCode.ERROR, message: `run ended with ${report.status}` });
    }
  }

  /** The runner turns every failure into an outcome; a throw here is a bug. */
  private threw(
    span: Span | undefined,
    subject: AgentRunSubject,
    error: unknown,
    durationMs: number,
  ): void {
    const failure = failureReport(error);
    this.metrics.recordAgentRun({
      agentType: subject.agentType,
      tenantId: currentRequestContext()?.tenantId,
      status: 'error',
      durationSeconds: durationMs / 1000,
      steps: 0,
    });
    this.logger.error(
      {
        event: LOG_EVENTS.agentExecuteFailed,
        status: 'error',
        duration_ms: Math.round(durationMs),
        err: error,
      },
      'Agent execution failed',
    );
    if (span) recordSpanError(span, error, failure.errorType);
  }
}

function spanPlan(subject: AgentRunSubject): SpanPlan {
  const attributes: Attributes = {
    [ATTR.genAiOperationName]: GEN_AI_OPERATION.invokeAgent,
    [ATTR.genAiProviderName]: GEN_AI_PROVIDER,
    [ATTR.genAiAgentName]: subject.agentName,
    [ATTR.genAiAgentId]: subject.agentId,
    [ATTR.agentId]: subject.agentId,
  };
  if (captureMessageContent()) {
    attributes[ATTR.genAiInputMessages] = JSON.stringify([
      { role: 'user', parts: [{ type: 'text', content: subject.input }] },
    ]);
  }
  return { name: SPAN_NAME.invokeAgent(subject.agentName), kind: SpanKind.INTERNAL, attributes };
}
