import { LlmSimulator, LlmSimulatorOptions, startLlmSimulator } from '../../tools/llm-simulator';

export type { LlmSimulator } from '../../tools/llm-simulator';
export { startLlmSimulator };

/** Starts a simulator and returns it with the env that points the app at it. */
export async function startLlmSimulatorForApp(options: LlmSimulatorOptions = {}): Promise<{
  simulator: LlmSimulator;
  env: { LLM_PROXY_URL: string; LLM_PROXY_API_KEY?: string };
}> {
  const simulator = await startLlmSimulator(options);
  return {
    simulator,
    env: {
      LLM_PROXY_URL: simulator.url,
      ...(options.apiKey ? { LLM_PROXY_API_KEY: options.apiKey } : {}),
    },
  };
}

/** The chat-completions requests the simulator received, oldest first. */
export function chatRequests(simulator: LlmSimulator): LlmSimulator['requests'] {
  return simulator.requests.filter((request) => request.path === '/v1/chat/completions');
}
