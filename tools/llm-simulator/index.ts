export { startLlmSimulator, validateBehaviour } from './llm-simulator';
export type {
  LlmSimulator,
  LlmSimulatorBehaviour,
  LlmSimulatorOptions,
  RecordedRequest,
  ChatScript,
  ScriptRequest,
} from './llm-simulator';
export { scriptAnswer } from './scripted-model';
export type { ScriptedAnswer } from './scripted-model';
