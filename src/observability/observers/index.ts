export { ObserversModule } from './observers.module';
export { AgentRunObserver } from './agent-run.observer';
export { LlmCallObserver } from './llm-call.observer';
export { ToolCallObserver } from './tool-call.observer';
export { BudgetObserver } from './budget.observer';
export { HealthCheckObserver } from './health-check.observer';
export { RunAdmissionObserver } from './run-admission.observer';
export { RunControlObserver } from './run-control.observer';
export { RunSweepObserver } from './run-sweep.observer';
export { TraceAgent, TraceLlmCall, TraceTool } from './observe.decorators';
export type {
  AgentRunDescriptor,
  LlmCallDescriptor,
  ToolCallDescriptor,
} from './observe.decorators';
export { failureReport } from './failure-report';
