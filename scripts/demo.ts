/**
 * `npm run demo`: the platform on embedded defaults with the LLM simulator,
 * some traffic, and where to look. The app runs as its own process, exactly as
 * `npm run start:prod` starts it (telemetry preload included); its log lines
 * go to a file, so the terminal shows only the demo's own lines.
 *
 * Options: --port N (default 8000), --sim-port N (default 4000), --data-dir
 * DIR (default ./data), --exit (stop after the traffic instead of serving
 * until Ctrl-C).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { startLlmSimulator } from '../tools/llm-simulator';
import type { LlmSimulator } from '../tools/llm-simulator';
import { eventTimeline, parseEventStream, shortenAtWord } from './demo-output';

interface DemoOptions {
  port: number;
  simPort: number;
  exitAfterTraffic: boolean;
  dataDir: string;
}

/** A problem the user can fix (a bad flag, a busy port): printed as one line, no stack. */
class DemoError extends Error {}

function parseArgs(argv: string[]): DemoOptions {
  const value = (flag: string): string | undefined => {
    const index = argv.indexOf(flag);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const port = Number(value('--port') ?? 8000);
  const simPort = Number(value('--sim-port') ?? 4000);
  for (const [flag, candidate] of [
    ['--port', port],
    ['--sim-port', simPort],
  ] as const) {
    if (!Number.isInteger(candidate) || candidate < 1 || candidate > 65535)
      throw new DemoError(`${flag} takes a port number from 1 to 65535`);
  }
  if (port === simPort) throw new DemoError('--port and --sim-port must differ');
  return {
    port,
    simPort,
    exitAfterTraffic: argv.includes('--exit'),
    dataDir: resolve(value('--data-dir') ?? 'data'),
  };
}

/**
 * Fails at once when another program listens on the port. Otherwise the
 * platform would fail to bind and exit while the demo's readiness poll and
 * API calls reached the other program (a foreign 200, then a baffling 401).
 */
async function assertPortFree(port: number, flag: string): Promise<void> {
  await new Promise<void>((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new DemoError(
          error.code === 'EADDRINUSE'
            ? `port ${port} (${flag}) is already in use by another program: stop it, or pick a free port with ${flag} <port>`
            : `cannot listen on 127.0.0.1:${port} (${flag}): ${error.code ?? error.message}`,
        ),
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolvePort()));
  });
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

/**
 * One run as server-sent events (`"stream": true`): the events as they came,
 * then the run they ended with.
 */
async function streamedRun(
  base: string,
  key: string,
  agentId: string,
  input: string,
): Promise<void> {
  const res = await fetch(`${base}/v1/agents/${agentId}/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ input, stream: true }),
  });
  const events = parseEventStream(await res.text());
  const last = events[events.length - 1];
  const run = (last?.event === 'run.failed' ? (last.data as { run?: ApiBody }).run : last?.data) as
    ApiBody | undefined;
  console.log(
    `${res.status} ${input} (${bold('streamed')}: ${res.headers.get('content-type')})\n` +
      `    ${eventTimeline(events.map((event) => event.event))}\n` +
      `    -> ${run?.status}: ${shortenAtWord(String(run?.output ?? run?.error), 100)}`,
  );
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

/** The end of the platform's log, for a failure the demo's own message cannot explain. */
function logTail(logFile: string, lines = 20): string {
  try {
    const text = readFileSync(logFile, 'utf8').trimEnd();
    return text === '' ? '' : text.split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

interface Tenant {
  id: string;
  key: string;
}

async function createTenant(
  base: string,
  adminKey: string,
  name: string,
  dailyTokenLimit: number,
): Promise<Tenant> {
  const created = await api(base, 'POST', '/v1/tenants', adminKey, {
    name,
    daily_token_limit: dailyTokenLimit,
    monthly_token_limit: dailyTokenLimit * 20,
    user_id: 'demo-user',
  });
  if (created.status !== 201 || !created.body.tenant || !created.body.api_key)
    throw new Error(
      `creating the tenant failed: ${created.status} ${JSON.stringify(created.body)}`,
    );
  return { id: created.body.tenant.id, key: created.body.api_key };
}

const MATH_AGENT = {
  name: 'Math helper',
  type: 'math_agent',
  model: 'sim-small',
  instructions: 'Use the calculator for arithmetic and the clock for times.',
  tools: ['calculator', 'current_time'],
  max_steps: 5,
};

/** Shown at the end: curl commands that work against the serving demo (its test runs them). */
function whereToLook(base: string, tenant: Tenant, agentId: string, logFile: string): string {
  const auth = `-H 'Authorization: Bearer ${tenant.key}'`;
  return `${bold('Where to look')}
  curl -s ${base}/metrics | grep -E '^(llm_tokens_total|token_budget_remaining)'
  curl -s ${base}/health
  curl -s ${auth} ${base}/v1/budget
  curl -s -X POST ${auth} -H 'content-type: application/json' \\
    -d '{"input":"What is 6*7?"}' ${base}/v1/agents/${agentId}/runs
  curl -sN -X POST ${auth} -H 'content-type: application/json' \\
    -d '{"input":"What is 6*7?","stream":true}' ${base}/v1/agents/${agentId}/runs
Logs: ${logFile} (JSON lines; LOG_LEVEL and LOG_FORMAT change them).
Traces: start the demo with ENABLE_TELEMETRY=true and an OTLP collector on OTLP_ENDPOINT (docs/tracing.md).`;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  await assertPortFree(options.port, '--port');
  await assertPortFree(options.simPort, '--sim-port');

  const adminKey = `demo-admin-${randomBytes(8).toString('hex')}`;
  const sim: LlmSimulator = await startLlmSimulator({ port: options.simPort, latencyMs: 30 });
  const base = `http://127.0.0.1:${options.port}`;
  const distRoot = resolve(__dirname, '..');
  mkdirSync(options.dataDir, { recursive: true });
  const logFile = join(options.dataDir, 'platform.log');
  const logFd = openSync(logFile, 'w');
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
        LOG_FORMAT: process.env.LOG_FORMAT ?? 'json',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
        SHUTDOWN_DRAIN_MS: process.env.SHUTDOWN_DRAIN_MS ?? '0',
      },
      stdio: ['ignore', logFd, logFd],
    },
  );
  closeSync(logFd);
  let stopping = false;
  // Until the platform is ready, waitUntilReady reports an exit (with the log's end).
  let ready = false;
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
    if (ready && !stopping) {
      console.error(`The platform exited unexpectedly (code ${code}). The end of ${logFile}:`);
      console.error(logTail(logFile));
      void sim.close().then(() => process.exit(1));
    }
  });
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));

  try {
    console.log(`LLM simulator on ${sim.url}; starting the platform on ${base}
  embedded database in ${options.dataDir}, platform logs in ${logFile}`);
    await waitUntilReady(base, app);
    ready = true;

    const corp = await createTenant(base, adminKey, 'Demo Corp', 100_000);
    console.log(
      `\n${bold('Tenant')} Demo Corp ${corp.id} (daily budget 100000 tokens), API key: ${corp.key}`,
    );
    for (const doc of [
      {
        title: 'Refund policy',
        content: 'Refunds are issued within five business days of a return being received.',
      },
      { title: 'Support hours', content: 'Support is open Monday to Friday, 9:00 to 17:00 UTC.' },
    ]) {
      await api(base, 'POST', '/v1/documents', corp.key, doc);
    }
    const math = await api(base, 'POST', '/v1/agents', corp.key, MATH_AGENT);
    const rag = await api(base, 'POST', '/v1/agents', corp.key, {
      name: 'Policy assistant',
      type: 'rag_agent',
      model: 'sim-large',
      instructions: 'Answer from the knowledge base.',
      tools: ['kb_search'],
      max_steps: 5,
    });
    console.log(
      `${bold('Agents')} Math helper ${math.body.id} (calculator, current_time), Policy assistant ${rag.body.id} (kb_search)\n`,
    );

    const runs: [string, string][] = [
      [math.body.id as string, 'What is (12.5 + 7.5) * 3?'],
      [math.body.id as string, 'What time is it in Europe/Paris?'],
      [rag.body.id as string, 'Search the knowledge base: how long do refunds take?'],
      [math.body.id as string, 'Say hello to the SRE team.'],
    ];
    let lastRun: ApiBody | undefined;
    for (const [agentId, input] of runs) {
      const res = await api(base, 'POST', `/v1/agents/${agentId}/runs`, corp.key, { input });
      lastRun = res.body;
      const answer = shortenAtWord(String(res.body.output ?? res.body.message), 100);
      console.log(`${res.status} ${input}\n    -> ${res.body.status}: ${answer}`);
    }
    await streamedRun(base, corp.key, math.body.id as string, 'What is 6 * 7, streamed?');

    // A second tenant with a small budget runs until it is refused: the 429
    // path, the budget metrics and alerts. Demo Corp keeps its budget for the
    // commands printed at the end.
    const small = await createTenant(base, adminKey, 'Small Budget Ltd', 2000);
    const smallAgent = await api(base, 'POST', '/v1/agents', small.key, MATH_AGENT);
    console.log(`\n${bold('Tenant')} Small Budget Ltd ${small.id} (daily budget 2000 tokens)`);
    for (let i = 0; i < 40; i++) {
      const res = await api(base, 'POST', `/v1/agents/${smallAgent.body.id}/runs`, small.key, {
        input: `What is ${i} * 17?`,
      });
      if (res.status === 429) {
        console.log(`429 after ${i + 1} runs: ${res.body.message}`);
        break;
      }
    }
    const budget = await api(base, 'GET', '/v1/budget', small.key);
    console.log(`${bold('Its budget')} ${JSON.stringify(budget.body)}`);
    console.log(
      `\n${bold('A run')} (its trace_id is set when ENABLE_TELEMETRY=true):\n${JSON.stringify(lastRun, null, 2)}`,
    );
    console.log(`\n${whereToLook(base, corp, math.body.id as string, logFile)}`);
    if (options.exitAfterTraffic) await stop(0);
    console.log('\nServing until Ctrl-C.');
  } catch (error) {
    console.error(`Demo failed: ${error instanceof Error ? error.message : String(error)}`);
    const tail = logTail(logFile);
    if (tail) console.error(`The end of ${logFile}:\n${tail}`);
    await stop(1);
  }
}

main().catch((error: unknown) => {
  if (error instanceof DemoError) console.error(`demo: ${error.message}`);
  else console.error('Demo failed:', error);
  process.exit(1);
});
