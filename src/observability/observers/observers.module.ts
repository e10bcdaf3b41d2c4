import { Global, Module } from '@nestjs/common';
import { AgentRunObserver } from './agent-run.observer';
import { BudgetObserver } from './budget.observer';
import { HealthCheckObserver } from './health-check.observer';
import { LlmCallObserver } from './llm-call.observer';
import { RunAdmissionObserver } from './run-admission.observer';
import { RunControlObserver } from './run-control.observer';
import { RunSweepObserver } from './run-sweep.observer';
import { ToolCallObserver } from './tool-call.observer';

const OBSERVERS = [
  AgentRunObserver,
  LlmCallObserver,
  ToolCallObserver,
  BudgetObserver,
  HealthCheckObserver,
  RunAdmissionObserver,
  RunControlObserver,
  RunSweepObserver,
];

/**
 * The one reporting place of each domain event: every observer turns a typed
 * record into the span, the metric samples and the log line. Global, so the
 * observing decorators can inject them into any provider.
 */
@Global()
@Module({ providers: OBSERVERS, exports: OBSERVERS })
export class ObserversModule {}
