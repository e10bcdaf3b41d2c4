export { AgentsModule } from './agents.module';
export { AgentRunner } from './agent-runner.service';
export type { AgentSpec, RunCaller, RunOutcome } from './agent-runner.service';
