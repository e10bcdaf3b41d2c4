/**
 * `npm run demo`: the platform on embedded defaults with the LLM simulator,
 * some traffic, and where to look. The app runs as its own process, exactly as
 * `npm run start:prod` starts it (telemetry preload included).
 *
 * Options: --port N (default 8000), --sim-port N (default 4000), --exit (stop
 * after the traffic instead of serving until Ctrl-C; used by the tests).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { startLlmSimulator } from '../tools/llm-simulator';
import type { LlmSimulator } from '../tools/llm-simulator';

interface DemoOptions {
  port: number;
  simPort: number;
  exitAfterTraffic: boolean;
  dataDir: string;
}

function parseArgs(argv: string[]): DemoOptions {
  const value = (flag: string): string | undefined => {
    const index = argv.indexOf(flag);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const port = Number(value('--port') ?? 8000);
  const simPort = Number(value('--sim-port') ?? 4000);
  if (!Number.isInteger(port) || !Number.isInteger(simPort))
    throw new Error('--port and --sim-port take integers');
  return {
    port,
    simPort,
    exitAfterTraffic: argv.includes('--exit'),
    dataDir: value('--data-dir') ?? resolve('data'),
  };
}

const bold = (text: string): string => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);

/** The few answer fields the demo reads; everything else is printed as is. */
interface ApiBody {
  id?: string;
  api_key?: string;
  tenant?: { id: string };
  status?: string;
  output?: string | null;
  message?: string;
  [field: string]: unknown;
}

async function api(
  base: string,
  method: string,
  path: string,
  key: string,
  body?: unknown,
): Promise<{ status: number; body: ApiBody }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as ApiBody };
}

async function waitUntilReady(base: string, app: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (app.exitCode !== null)
      throw new Error(`the platform exited during start-up (code ${app.exitCode})`);
    try {
      if ((await fetch(`${base}/health/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the platform did not become ready within 60 s');
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const adminKey = `demo-admin-${randomBytes(8).toString('hex')}`;
  const sim: LlmSimulator = await startLlmSimulator({ port: options.simPort, latencyMs: 30 });
  const base = `http://127.0.0.1:${options.port}`;
  const distRoot = resolve(__dirname, '..');
  const app = spawn(
    process.execPath,
    [
      '--enable-source-maps',
      '--require',
      join(distRoot, 'src/instrumentation.js'),
      join(distRoot, 'src/main.js'),
    ],
    {
      env: {
        ...process.env,
        PORT: String(options.port),
        HOST: '127.0.0.1',
        DATA_DIR: options.dataDir,
        LLM_PROXY_URL: sim.url,
        ADMIN_API_KEY: adminKey,
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
        SHUTDOWN_DRAIN_MS: process.env.SHUTDOWN_DRAIN_MS ?? '0',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  let stopping = false;
  const stop = async (code: number): Promise<never> => {
    stopping = true;
    if (app.exitCode === null) {
      const exited = new Promise((r) => app.once('exit', r));
      app.kill('SIGTERM');
      await exited;
    }
    await sim.close();
    process.exit(code);
  };
  app.once('exit', (code) => {
    if (!stopping) {
      console.error(`The platform exited unexpectedly (code ${code}).`);
      void sim.close().then(() => process.exit(1));
    }
  });
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));

  try {
    console.log(
      `LLM simulator on ${sim.url}; starting the platform on ${base} (embedded database in ${options.dataDir})...`,
    );
    await waitUntilReady(base, app);
    const created = await api(base, 'POST', '/v1/tenants', adminKey, {
      name: 'Demo Corp',
      daily_token_limit: 4000,
      monthly_token_limit: 100_000,
      user_id: 'demo-user',
    });
    if (created.status !== 201)
      throw new Error(`creating the tenant failed: ${JSON.stringify(created.body)}`);
    const key = created.body.api_key as string;
    console.log(
      `\n${bold('Tenant')} ${created.body.tenant?.id} (daily budget 4000 tokens), API key: ${key}`,
    );

    for (const doc of [
      {
        title: 'Refund policy',
        content: 'Refunds are issued within five business days of a return being received.',
      },
      { title: 'Support hours', content: 'Support is open Monday to Friday, 9:00 to 17:00 UTC.' },
    ]) {
      await api(base, 'POST', '/v1/documents', key, doc);
    }
    const math = await api(base, 'POST', '/v1/agents', key, {
      name: 'Math helper',
      type: 'math_agent',
      model: 'sim-small',
      instructions: 'Use the calculator for arithmetic and the clock for times.',
      tools: ['calculator', 'current_time'],
      max_steps: 5,
    });
    const rag = await api(base, 'POST', '/v1/agents', key, {
      name: 'Policy assistant',
      type: 'rag_agent',
      model: 'sim-large',
      instructions: 'Answer from the knowledge base.',
      tools: ['kb_search'],
      max_steps: 5,
    });
    console.log(
      `${bold('Agents')} ${math.body.id} (calculator, current_time), ${rag.body.id} (kb_search)\n`,
    );

    const runs: [string, string][] = [
      [math.body.id as string, 'What is (12.5 + 7.5) * 3?'],
      [math.body.id as string, 'What time is it in Europe/Paris?'],
      [rag.body.id as string, 'Search the knowledge base: how long do refunds take?'],
      [math.body.id as string, 'Say hello to the SRE team.'],
    ];
    let lastRun: ApiBody | undefined;
    for (const [agentId, input] of runs) {
      const res = await api(base, 'POST', `/v1/agents/${agentId}/runs`, key, { input });
      lastRun = res.body;
      console.log(
        `${res.status} ${input}\n    -> ${res.body.status}: ${String(res.body.output ?? res.body.message).slice(0, 100)}`,
      );
    }
    // Keep going until the small daily budget refuses: the 429 path, the budget metrics and alerts.
    for (let i = 0; i < 40; i++) {
      const res = await api(base, 'POST', `/v1/agents/${math.body.id}/runs`, key, {
        input: `What is ${i} * 17?`,
      });
      if (res.status === 429) {
        console.log(`429 after ${i + 1} more runs: ${res.body.message}`);
        break;
      }
    }
    const budget = await api(base, 'GET', '/v1/budget', key);
    console.log(
      `\n${bold('A run')} (note its trace_id when ENABLE_TELEMETRY=true):\n${JSON.stringify(lastRun, null, 2)}`,
    );
    console.log(`\n${bold('Budget')} ${JSON.stringify(budget.body)}`);
    console.log(`\n${bold('Where to look')}
  curl ${base}/metrics                      # Prometheus metrics (llm_tokens_total, token_budget_remaining, ...)
  curl ${base}/health                       # component health with latency
  curl -H 'Authorization: Bearer ${key}' ${base}/v1/budget
  curl -H 'Authorization: Bearer ${key}' ${base}/v1/agents
  curl -X POST -H 'Authorization: Bearer ${key}' -H 'content-type: application/json' \\
       -d '{"input":"What is 6*7?"}' ${base}/v1/agents/${math.body.id}/runs
Traces: run with ENABLE_TELEMETRY=true and a collector on OTLP_ENDPOINT (see README, Tracing).`);
    if (options.exitAfterTraffic) await stop(0);
    console.log('\nServing until Ctrl-C.');
  } catch (error) {
    console.error(`Demo failed: ${error instanceof Error ? error.message : String(error)}`);
    await stop(1);
  }
}

void main();
