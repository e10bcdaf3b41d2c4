import { parseArgs } from 'node:util';
import { LlmSimulatorOptions, startLlmSimulator } from './llm-simulator';

const USAGE = `Usage: npm run llm:sim -- [options]

  --port <n>               listen port (default: LLM_SIM_PORT or 4000)
  --host <addr>            listen address (default 127.0.0.1)
  --api-key <key>          require Authorization: Bearer <key>
  --latency-ms <n>         delay before every chat answer
  --chunk-latency-ms <n>   streamed answers: delay before each chunk after the first
  --error-rate <0..1>      share of chat requests that fail
  --failure-status <code>  status of injected failures (default 500)
  --retry-after <s>        Retry-After on injected 429/503
  --seed <n>               seed of the error-rate draws
  --hang                   accept chat requests and never answer
  --hang-health            with --hang, the health endpoints hang too
  --omit-usage             answer without a usage field
  --tool-loop              keep calling tools (agents hit max_steps)

At run time: POST /__simulator/options with a JSON object of the same options
in camelCase, e.g. {"hang": true} or {"errorRate": 0.5}.`;

function number(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) {
    throw new Error(`--${name} expects a number, got "${value}"`);
  }
  return parsed;
}

export function parseSimulatorArgs(
  argv: string[],
  env: Record<string, string | undefined>,
): LlmSimulatorOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'api-key': { type: 'string' },
      'latency-ms': { type: 'string' },
      'chunk-latency-ms': { type: 'string' },
      'error-rate': { type: 'string' },
      'failure-status': { type: 'string' },
      'retry-after': { type: 'string' },
      seed: { type: 'string' },
      hang: { type: 'boolean' },
      'hang-health': { type: 'boolean' },
      'omit-usage': { type: 'boolean' },
      'tool-loop': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  return {
    port: number('port', values.port ?? env.LLM_SIM_PORT) ?? 4000,
    host: values.host ?? '127.0.0.1',
    apiKey: values['api-key'],
    latencyMs: number('latency-ms', values['latency-ms']),
    chunkLatencyMs: number('chunk-latency-ms', values['chunk-latency-ms']),
    errorRate: number('error-rate', values['error-rate']),
    failureStatus: number('failure-status', values['failure-status']),
    retryAfterSeconds: number('retry-after', values['retry-after']),
    seed: number('seed', values.seed),
    hang: values.hang,
    hangHealth: values['hang-health'],
    omitUsage: values['omit-usage'],
    toolLoop: values['tool-loop'],
  };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}

async function main(): Promise<void> {
  let options: LlmSimulatorOptions | 'help';
  try {
    options = parseSimulatorArgs(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    process.exit(64); // EX_USAGE
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const simulator = await startLlmSimulator(withoutUndefined(options));
  process.stdout.write(
    `LLM simulator listening on ${simulator.url} (OpenAI-compatible: POST /v1/chat/completions)\n` +
      `Point the app at it: LLM_PROXY_URL=${simulator.url}${options.apiKey ? ' LLM_PROXY_API_KEY=<your key>' : ''}\n`,
  );
  const stop = (): void => {
    void simulator.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`LLM simulator failed to start: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
